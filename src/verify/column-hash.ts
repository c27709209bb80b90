/**
 * Per-column 64-bit hashes computed on the server, identical on both sides for identical values.
 * Pure: SQL text only.
 *
 * A row's hash is the XOR of its columns' hashes, each seeded with the column's position (so
 * swapped values change it). Built-in types whose hash function reads the stored value and no
 * database-specific state (integers, booleans, timestamps, dates, times, uuids, bytea) are hashed
 * directly, which avoids rendering them as text (the dominant cost of a row comparison). Every
 * other type (but bytea, hashed over its bytes) is rendered as text under the pinned session settings (session-settings.ts) and
 * hashed as bytes: numeric keeps its scale, jsonb its text, floats their shortest exact form,
 * enums their label (never their OID, which differs between databases).
 */

export type HashMethod =
  'int' | 'bool' | 'timestamp' | 'timestamptz' | 'date' | 'time' | 'timetz' | 'uuid' | 'bytea' | 'text';

/** Built-in type OIDs (fixed by PostgreSQL's catalog, equal in every database). */
const TYPED: ReadonlyMap<number, HashMethod> = new Map([
  [20, 'int'],
  [21, 'int'],
  [23, 'int'],
  [16, 'bool'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
  [1082, 'date'],
  [1083, 'time'],
  [1266, 'timetz'],
  [2950, 'uuid'],
  [17, 'bytea'],
]);

/** Typed hashing only when both sides store the very same built-in type; else text. */
export function hashMethod(sourceTypeOid: number, targetTypeOid: number): HashMethod {
  if (sourceTypeOid !== targetTypeOid) return 'text';
  return TYPED.get(sourceTypeOid) ?? 'text';
}

/** The SQL integer types: a single-column key of one of these is chunked by ranges. */
export function isIntegerType(typeOid: number): boolean {
  return typeOid === 20 || typeOid === 21 || typeOid === 23;
}

/**
 * Hash of one column value. `expr` is an already-quoted column reference. NULL hashes to a
 * seed-specific constant, so NULL and any value differ and a NULL moved between columns shows.
 */
export function columnHashSql(expr: string, method: HashMethod, seed: number, notNull: boolean): string {
  const s = `${seed}`;
  let hash: string;
  switch (method) {
    case 'int':
      hash = `hashint8extended(${expr}::int8, ${s})`;
      break;
    case 'bool':
      hash = `hashint4extended(${expr}::int4, ${s})`;
      break;
    case 'timestamp':
      hash = `timestamp_hash_extended(${expr}, ${s})`;
      break;
    case 'timestamptz':
      // With TimeZone pinned to UTC the conversion is exact and the same on both sides.
      hash = `timestamp_hash_extended(${expr}::timestamp, ${s})`;
      break;
    case 'date':
      hash = `timestamp_hash_extended(${expr}::timestamp, ${s})`;
      break;
    case 'time':
      hash = `time_hash_extended(${expr}, ${s})`;
      break;
    case 'timetz':
      hash = `timetz_hash_extended(${expr}, ${s})`;
      break;
    case 'uuid':
      hash = `uuid_hash_extended(${expr}, ${s})`;
      break;
    case 'bytea':
      // bytea's own hash (over the raw bytes) is reachable from SQL only through a record: an order
      // of magnitude faster than hashing its hex text, and free of any database-specific state.
      hash = `hash_record_extended(ROW(${expr}), ${s})`;
      break;
    case 'text':
      hash = `hashtextextended(${expr}::text COLLATE "C", ${s})`;
      break;
  }
  return notNull ? hash : `coalesce(${hash}, ${nullHash(seed)})`;
}

/** XOR of hashes; a single one stays as is. */
export function xorSql(hashes: readonly string[]): string {
  if (hashes.length === 0) return '0::int8';
  return hashes.length === 1 ? hashes[0]! : `(${hashes.join(' # ')})`;
}

/** A fixed, seed-specific stand-in for NULL (a large odd constant mixed with the seed). */
function nullHash(seed: number): string {
  const value = (0x5bd1e9955bd1e995n ^ (BigInt(seed) * 0x9e3779b97f4a7c15n)) & 0x7fffffffffffffffn;
  return `${value}::int8`;
}
