// Remembered between runs: the members whose counters this node heard, and their settled spend per key and period, so
// a restarted node keeps their shares reserved (and their spend counted) until it hears them again.
import type { Db } from '../../core/database.ts';
import type { BudgetPeriod } from '../keys.ts';
import { periodOf } from '../limits.ts';
import type { SharedStore } from './counters.ts';

type Spend = { peer: string; keyId: string; period: string; usd: number };

/** Client keys this node has settled spend for in the current day or month (peers' own spend is kept apart). */
export function spentKeysIn(db: Db): () => { keyId: string; period: BudgetPeriod }[] {
  const query = db.prepare<[string, string], { key_id: string; period: string }>(
    "SELECT key_id, period FROM tenancy_spend WHERE period IN (?, ?) AND usd > 0 AND key_id NOT LIKE 'peer:%'",
  );
  return () => {
    const now = Date.now();
    return query.all(periodOf('day', now).id, periodOf('month', now).id).map((r) => ({ keyId: r.key_id, period: r.period.length === 10 ? 'day' : 'month' }));
  };
}

/** Other members' settled spend of a key this period, as this node last saved it (what the CLI can tell without the node). */
export function rememberedSpend(db: Db): (keyId: string, period: BudgetPeriod) => number {
  const sum = db.prepare<[string, string], number | null>('SELECT sum(usd) FROM tenancy_mesh_spend WHERE key_id = ? AND period = ?').pluck();
  return (keyId, period) => sum.get(keyId, periodOf(period, Date.now()).id) ?? 0;
}

export function sqliteSharedStore(db: Db): SharedStore {
  const members = db.prepare<[], { peer: string; lastSeen: number }>('SELECT peer, last_seen AS lastSeen FROM tenancy_mesh_members');
  const spend = db.prepare<[], Spend>('SELECT peer, key_id AS keyId, period, usd FROM tenancy_mesh_spend');
  const member = db.prepare(
    'INSERT INTO tenancy_mesh_members (peer, last_seen) VALUES (?, ?) ON CONFLICT (peer) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)',
  );
  const spent = db.prepare(`INSERT INTO tenancy_mesh_spend (peer, key_id, period, usd) VALUES (?, ?, ?, ?)
    ON CONFLICT (peer, key_id, period) DO UPDATE SET usd = max(usd, excluded.usd)`);
  // Past periods are never read again.
  const stale = db.prepare('DELETE FROM tenancy_mesh_spend WHERE period < ? AND length(period) = 10 OR period < ? AND length(period) = 7');
  const save = db.transaction((ms: { peer: string; lastSeen: number }[], ss: Spend[]) => {
    for (const m of ms) member.run(m.peer, m.lastSeen);
    for (const s of ss) spent.run(s.peer, s.keyId, s.period, s.usd);
    const today = new Date().toISOString();
    stale.run(today.slice(0, 10), today.slice(0, 7));
  });
  return {
    members: () => members.all(),
    spend: () => spend.all(),
    save: (ms, ss) => save(ms, ss),
  };
}
