// Responses API storage: stored responses per owner, for previous_response_id, GET and DELETE, and their retention.
export { ResponseStore, ownerOf, responseNotFound, MAX_CHAIN, type StoredTurn, type ResponseStoreOptions } from './store.ts';
export { RetentionJob, DEFAULT_RETENTION, type RetentionOptions } from './retention.ts';
