// Replicated op logs in SQLite (the knowledge base's, the client keys'): ops, hybrid logical clocks, version vectors, pages.
export { OpLog, type OpLogOptions, type LocalOpListener, type ProvenOp } from './op-log.ts';
export { storedOpsSince, type StoredOp, type OpPageLimits } from './pages.ts';
export { opTableSql, type LogOp, type OpTables, type VersionVector } from './types.ts';
export { HybridClock, compareHlc, encodeHlc, decodeHlc, type HlcParts } from './hlc.ts';
