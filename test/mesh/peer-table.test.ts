// PeerTable ranking with DHT providers: a provider record outlives what a node serves, its own live record does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapacityRecord } from '../../src/mesh/capacity-record.ts';
import { PeerTable } from '../../src/mesh/peer-table.ts';

const NOW = 1_000_000;

function record(peerId: string, models: string[], expiresAt = NOW + 45_000): CapacityRecord {
  return {
    peerId,
    nodeName: null,
    seq: 1,
    issuedAt: NOW,
    expiresAt,
    signature: '',
    capacity: { models, chains: models, freeConcurrency: models.length ? 64 : 0, latencyP50Ms: null, errorRate: 0, version: 'test' },
  };
}

test('a DHT provider whose own live record offers the model no more is not a candidate; one without a live record is', () => {
  const table = new PeerTable(() => NOW);
  table.updateRecord(record('down', []));
  table.updateRecord(record('stale', ['default'], NOW - 1));
  table.updateRecord(record('up', ['default']));
  assert.deepEqual(table.rankFor('default', new Set(), ['down', 'stale', 'unknown']), ['up', 'stale', 'unknown']);
});
