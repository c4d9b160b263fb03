// The knowledge capability's public door: store, ingestion, search types, RAG helpers and HTTP routes.
export { KnowledgeStore } from './store.ts';
export type { DocumentInput, PutResult, ApplyResult } from './store.ts';
export type { KnowledgeOp, PutPayload, DeletePayload, VersionVector } from './ops.ts';
export { parseOp } from './ops.ts';
export { HybridClock, compareHlc, encodeHlc, decodeHlc } from './hlc.ts';
export type { StoredDocument, DocumentFilter, KnowledgeStats } from './reads.ts';
export type { SearchOptions, SearchResult } from './search.ts';
export { chunkText } from './chunk.ts';
export type { ChunkSpan, ChunkOptions } from './chunk.ts';
export { knowledgeMigrations } from './schema.ts';
export { validateDocId, validateCollection, stableDocId, DEFAULT_COLLECTION } from './ids.ts';
export { documentFromText, documentsFromFile, formatOf, resolveInputs, parseJsonLines, parseText } from './ingest/index.ts';
export type { IngestFormat, IngestOptions, TextFormat, ResolvedFile } from './ingest/index.ts';
export { retrieveContext, injectContext, knowledgeAnswer, formatPassages } from './rag.ts';
export type { Passage, RetrieveOptions } from './rag.ts';
export { knowledgeRoutes } from './routes.ts';
export type { KnowledgeRoutesOptions } from './routes.ts';
