import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { ReverseTable } from '../routing/reverse-map.js';

/**
 * The SQL recover runs for one table, rendered from its reverse mapping (pure, tested as text).
 * `stage` is a temporary table on the monolith holding the service's rows under monolith column
 * names; everything else is the monolith table.
 */
export interface RecoverTableSql {
  createStage: string;
  /** Service side: the rows, under service names, in the mapping's column order. */
  readService: string;
  /** Monolith side: COPY into the stage. */
  writeStage: string;
  analyzeStage: string;
  countStage: string;
  /** Monolith rows whose key the service no longer has. Returns the count. */
  deleteMissing: string;
  /** Insert new keys, update rows that differ (only mapped columns). Returns inserted, updated. */
  upsert: string;
  /** count and hash of the mapped columns, ordered by key: the monolith table, then the stage. */
  checksumMonolith: string;
  checksumStage: string;
}

export function recoverTableSql(table: ReverseTable, stage: string): RecoverTableSql {
  const mono = quoteQualified(table.monolithTable.schema, table.monolithTable.name);
  const svc = quoteQualified(table.serviceTable.schema, table.serviceTable.name);
  const stageName = quoteQualified('pg_temp', stage);
  const monoCols = table.columns.map((c) => quoteIdent(c.monolith));
  const svcCols = table.columns.map((c) => quoteIdent(c.service));
  const key = table.key.monolith.map(quoteIdent);
  const keySet = new Set(table.key.monolith);
  const rest = table.columns.filter((c) => !keySet.has(c.monolith)).map((c) => quoteIdent(c.monolith));
  const keyMatch = key.map((k) => `s.${k} = m.${k}`).join(' AND ');
  // Rows are compared as text: every type has a text form, not every type an equality operator (json).
  const onConflict = rest.length
    ? `DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
        WHERE ROW(${rest.map((c) => `m.${c}`).join(', ')})::text IS DISTINCT FROM ROW(${rest.map((c) => `EXCLUDED.${c}`).join(', ')})::text`
    : 'DO NOTHING';
  const checksum = (from: string) =>
    `SELECT count(*)::bigint AS n, coalesce(md5(string_agg(r::text, '|' ORDER BY ${key.map((_, i) => `k${i}`).join(', ')})), '-') AS h
       FROM (SELECT ROW(${monoCols.join(', ')}) AS r, ${key.map((k, i) => `${k} AS k${i}`).join(', ')} FROM ${from}) t`;
  return {
    // The stage takes the monolith's column types (CREATE TABLE AS … WITH NO DATA), so a value
    // read as text from the service is parsed exactly as the monolith would parse it.
    createStage: `CREATE TEMPORARY TABLE ${stageName} ON COMMIT DROP AS SELECT ${monoCols.join(', ')} FROM ${mono} WITH NO DATA`,
    readService: `COPY (SELECT ${svcCols.join(', ')} FROM ${svc}) TO STDOUT`,
    writeStage: `COPY ${stageName} (${monoCols.join(', ')}) FROM STDIN`,
    analyzeStage: `ANALYZE ${stageName}`,
    countStage: `SELECT count(*)::bigint AS n FROM ${stageName}`,
    deleteMissing: `WITH d AS (DELETE FROM ${mono} AS m WHERE NOT EXISTS (SELECT 1 FROM ${stageName} AS s WHERE ${keyMatch}) RETURNING 1)
      SELECT count(*)::bigint AS n FROM d`,
    upsert: `WITH u AS (
        INSERT INTO ${mono} AS m (${monoCols.join(', ')}) OVERRIDING SYSTEM VALUE
        SELECT ${monoCols.join(', ')} FROM ${stageName}
        ON CONFLICT (${key.join(', ')}) ${onConflict}
        RETURNING (xmax = 0) AS inserted)
      SELECT count(*) FILTER (WHERE inserted)::bigint AS inserted, count(*) FILTER (WHERE NOT inserted)::bigint AS updated FROM u`,
    checksumMonolith: checksum(mono),
    checksumStage: checksum(stageName),
  };
}
