import { columnSequences } from '../pg/sequences.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { TableRef } from '../catalog/model.js';
import { setvalSql } from './repair-sql.js';
import type { SnapshotPool } from './snapshot-pool.js';
import type { SequenceVerifyResult } from './events.js';
import type { VerifyScope } from './run-scope.js';
import type { Snapshots } from './take-snapshots.js';

/**
 * Sequences of every verified database's owned tables. Behind = failing in strict mode; auto is
 * advisory while a live sync was held (it moves sequences only every few seconds, so inserts since
 * its last pass show as behind), strict otherwise (a sync that stopped cleanly moved them all) —
 * and always strict in a database whose service is cut over (its journal says so: the cutover
 * moved its sequences past the monolith's, and the service itself inserts there now).
 */
export async function verifySequences(
  scope: VerifyScope,
  snapshots: Snapshots,
): Promise<SequenceVerifyResult[]> {
  const mode = scope.options.sequences ?? 'auto';
  const live =
    snapshots.method === 'hold-api' || snapshots.method === 'hold-table' || snapshots.method === 'catch-up';
  const strict = mode === 'strict' || (mode === 'auto' && !live);
  const perDatabase = await Promise.all(
    scope.services.map(async (s) => {
      const owned = scope.routes
        .filter((r) => r.database === s.database && r.kind === 'owned')
        .map((r) => r.target);
      if (!owned.length) return [];
      const pool = snapshots.targets.get(s.database)!;
      const cutOver = mode === 'auto' && !strict && (await isCutOver(pool, scope.routing.names, s.name));
      const results = await checkSequences(pool, s.database, owned, strict || cutOver);
      scope.emit({ type: 'sequences-done', database: s.database, results });
      return results;
    }),
  );
  return perDatabase.flat();
}

/** The service's journal (state schema version 8, src/cutover/state.ts) says it is cut over. */
async function isCutOver(
  pool: SnapshotPool,
  names: { stateSchema: string; migration: string },
  service: string,
): Promise<boolean> {
  return pool.use(async (client) => {
    const table = quoteQualified(names.stateSchema, 'cutovers');
    const { rows } = await client.query('SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present', [table]);
    if (!rows[0].present) return false;
    const found = await client.query(
      `SELECT 1 FROM ${table} WHERE migration = $1 AND service = $2 AND phase IN ('cut-over', 'completed')`,
      [names.migration, service],
    );
    return found.rows.length > 0;
  });
}

/**
 * Every sequence feeding a column of these target tables (identity, serial, nextval defaults) must
 * hand out a value past what the column holds, or the first insert after cutover collides. The
 * column's extreme is read at the verify snapshot; the sequence (not transactional) as it is now,
 * which can only be further along.
 */
export async function checkSequences(
  pool: SnapshotPool,
  database: string,
  tables: readonly TableRef[],
  failing: boolean,
): Promise<SequenceVerifyResult[]> {
  return pool.use(async (client) => {
    const results: SequenceVerifyResult[] = [];
    for (const table of tables) {
      for (const { column, sequence } of await columnSequences(client, table)) {
        const { rows } = await client.query(
          `SELECT pg_catalog.pg_sequence_last_value($1::regclass)::text AS last_value,
                  q.seqstart::text AS start, q.seqincrement::text AS increment,
                  (SELECT CASE WHEN q.seqincrement > 0 THEN max(${quoteIdent(column)}) ELSE min(${quoteIdent(column)}) END::text
                     FROM ${quoteQualified(table.schema, table.name)}) AS extreme
             FROM pg_catalog.pg_sequence q WHERE q.seqrelid = $1::regclass`,
          [sequence],
        );
        const r = rows[0];
        const increment = BigInt(r.increment);
        const next = r.last_value === null ? BigInt(r.start) : BigInt(r.last_value) + increment;
        const behind =
          r.extreme !== null && (increment > 0n ? next <= BigInt(r.extreme) : next >= BigInt(r.extreme));
        const repairSql = behind ? setvalSql(sequence, table, column) : null;
        results.push({
          database,
          table,
          column,
          sequence,
          max: r.extreme,
          next: next.toString(),
          status: behind ? 'behind' : 'ok',
          failing: behind && failing,
          hint: behind
            ? `In ${database} run: ${repairSql} ` +
              '(or carve verify --repair-sql FILE, which writes it for every such sequence). ' +
              "carve sync moves each sequence to the monolith's value while it streams and when it stops, " +
              "so one still behind after a sync means the monolith's own sequence is behind this column, " +
              'or something set it back in the service database.'
            : null,
          repairSql,
        });
      }
    }
    return results;
  });
}
