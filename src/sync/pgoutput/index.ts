/** The pgoutput decoder: pure, no I/O. See decode.ts for the contract. */
export { decodePgoutput } from './decode.js';
export { DecodeError } from './decode-error.js';
export { RelationCache, diffRelations, type RelationDiff, type RetypedColumn } from './relation-cache.js';
export {
  pgTimestampToIso,
  pgTimestampToUnixMicros,
  pgTimestampToUnixMillis,
  type PgTimestamp,
} from '../../pg/replication/pg-time.js';
export * from './messages.js';
