// Replicated op logs in SQLite (the knowledge base's, the client keys'): ops, hybrid logical clocks, version vectors, pages.
export { OpLog, type OpLogOptions, type LocalOpListener, type StoredPayload } from './op-log.ts';
export type { StoredOp, OpPageLimits, ProvenOp } from './pages.ts';
export { opTableSql, type LogOp, type OpHeader, type LocalOpInfo, type OpTables, type VersionVector } from './types.ts';
export { HybridClock, compareHlc, encodeHlc, decodeHlc, type HlcParts } from './hlc.ts';
