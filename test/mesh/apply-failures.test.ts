// What a batch of ops the store refuses leaves in the log: one line per reason and batch, however long the backlog.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/core/database.ts';
import { KnowledgeStore } from '../../src/knowledge/index.ts';
import { applyVerified } from '../../src/mesh/replication/apply.ts';
import { KB_CHANNEL } from '../../src/mesh/replication/channel.ts';
import { ReplicationState } from '../../src/mesh/replication/state.ts';
import { captureLogger } from '../capture-logger.ts';

test('a backlog of ops from a clock far ahead is refused with one clock-skew warning per batch, not one per op', () => {
  const aheadDb = openDatabase(':memory:');
  const hereDb = openDatabase(':memory:');
  try {
    // A peer whose clock runs an hour fast wrote 50 documents; this node allows 5 minutes of drift.
    const ahead = new KnowledgeStore(aheadDb, 'node-ahead', { now: () => Date.now() + 3_600_000 });
    ahead.putMany(Array.from({ length: 50 }, (_, i) => ({ id: `doc-${i}`, text: `Document ${i}.` })));
    const here = new KnowledgeStore(hereDb, 'node-here');
    const log = captureLogger();
    const state = new ReplicationState();
    const batch = ahead.provenOpsSince({}).map(({ op }) => ({ op, proof: 'checked by the caller' }));

    const applied = applyVerified({ store: here, channel: KB_CHANNEL, state, log: log.logger }, 'peer-1', batch);

    assert.equal(applied, 0);
    assert.equal(state.counts.opsRejected, 50);
    const lines = log.find('replication:clock-skew', 'warn');
    assert.equal(lines.length, 1);
    assert.equal(lines[0].detail.ops, 50);
    assert.equal(lines[0].detail.peer, 'peer-1');
    assert.equal(lines[0].detail.origin, 'node-ahead');
    assert.match(String(lines[0].detail.error), /clock|ahead|skew/i);
    assert.equal(here.stats().documents, 0);
  } finally {
    aheadDb.close();
    hereDb.close();
  }
});
