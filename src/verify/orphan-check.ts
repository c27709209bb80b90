import { CarveError } from '../errors.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { CutForeignKey, TableRoute } from '../routing/model.js';
import { cursorRows } from './cursor-rows.js';
import { readSideColumns, recreateHint, type RouteShape } from './route-shape.js';
import type { SnapshotPool } from './snapshot-pool.js';
import type { ForeignKeyVerifyResult, OrphanRow } from './events.js';

export interface OrphanContext {
  source: SnapshotPool;
  targets: ReadonlyMap<string, SnapshotPool>;
  maxKeys: number;
}

const BATCH = 20_000;

/**
 * A foreign key the plan cut (its two tables live in different databases), checked across them
 * at the verify snapshot without loading either table: the distinct referencing values are
 * streamed from the child database through a cursor, 20 000 at a time, and each batch is looked up in the parent
 * database with unnest($n::text[]) + a LATERAL lookup (an index probe per value). The child rows
 * holding an orphaned value are listed by key, and each is looked up in the monolith: if the
 * monolith has the same row without a parent too, the orphan pre-existed the migration.
 * MATCH SIMPLE: a row with a NULL in any referencing column references nothing.
 */
export async function checkCutForeignKey(
  ctx: OrphanContext,
  fk: CutForeignKey,
  child: RouteShape,
  /** The parent table's route: a missing parent column is re-created from the monolith by resync. */
  parent: TableRoute,
): Promise<ForeignKeyVerifyResult> {
  const started = Date.now();
  const childPool = ctx.targets.get(fk.from.database)!;
  const parentPool = ctx.targets.get(fk.to.database)!;
  const c = await childPool.acquire();
  const p = await parentPool.acquire();
  const orphans: OrphanRow[] = [];
  let truncated = 0;
  let fresh = 0;
  let preexisting = 0;
  let checked = 0;
  try {
    const parentColumns = await readSideColumns(p, fk.to.table);
    const parentTypes = fk.to.columns.map((name) => {
      const column = parentColumns?.get(name);
      if (!column) {
        throw new CarveError(
          'VERIFY_TABLE_MISSING',
          `${fk.to.database}: ${fk.to.table.schema}.${fk.to.table.name}(${name}) does not exist`,
          {
            details: { foreignKey: fk.name, database: fk.to.database, table: fk.to.table, column: name },
            // provision refuses a database it already created (PROVISION_CONFLICT): resync re-creates one table.
            hint: recreateHint(parent),
          },
        );
      }
      return column.type;
    });
    const childTable = quoteQualified(fk.from.table.schema, fk.from.table.name);
    const parentTable = quoteQualified(fk.to.table.schema, fk.to.table.name);
    const fkCols = fk.from.columns.map(quoteIdent);
    const values = cursorRows<Record<string, string>>(
      c,
      {
        // DISTINCT on the values themselves (not their text): cheaper, and the key index can serve it.
        text: `SELECT ${fkCols.map((_c, j) => `d.v${j}::text AS v${j}`).join(', ')} FROM (SELECT DISTINCT ${fkCols
          .map((col, j) => `${col} AS v${j}`)
          .join(
            ', ',
          )} FROM ${childTable} WHERE ${fkCols.map((col) => `${col} IS NOT NULL`).join(' AND ')}) AS d`,
        values: [],
      },
      BATCH,
    );
    let batch: string[][] = [];
    const flush = async () => {
      if (!batch.length) return;
      checked += batch.length;
      const arrays = fk.from.columns.map((_n, j) => batch.map((v) => v[j]!));
      batch = [];
      // One index probe per value: a LATERAL subquery with LIMIT is never turned into a join. (As
      // NOT EXISTS, the planner, which cannot see the array's length, picks a hash anti-join that
      // reads the whole parent table for every batch.)
      const missing = await p.query(
        `SELECT ${fk.to.columns.map((_n, j) => `u.v${j}`).join(', ')} FROM unnest(${arrays.map((_a, j) => `$${j + 1}::text[]`).join(', ')})
            AS u(${arrays.map((_a, j) => `v${j}`).join(', ')})
          LEFT JOIN LATERAL (SELECT true AS found FROM ${parentTable} AS p WHERE ${fk.to.columns
            .map((name, j) => `p.${quoteIdent(name)} = u.v${j}::${parentTypes[j]}`)
            .join(' AND ')} LIMIT 1) AS x ON true
          WHERE x.found IS NULL`,
        arrays,
      );
      if (missing.rows.length) {
        const orphanValues = missing.rows.map((r) => fk.from.columns.map((_n, j) => r[`v${j}`] as string));
        const rows = await orphanRows(c, fk, child, orphanValues);
        const pre = await preexistingKeys(
          ctx.source,
          fk,
          child,
          rows.map((r) => r.key),
        );
        for (const row of rows) {
          const entry: OrphanRow = {
            key: Object.fromEntries(child.key.map((i, j) => [child.columns[i]!.target, row.key[j]!])),
            values: Object.fromEntries(fk.from.columns.map((name, j) => [name, row.values[j]!])),
            preexisting: pre.has(JSON.stringify(row.key)),
          };
          if (entry.preexisting) preexisting++;
          else fresh++;
          if (orphans.length < ctx.maxKeys) orphans.push(entry);
          else truncated++;
        }
      }
    };
    for await (const row of values) {
      batch.push(fk.from.columns.map((_n, j) => row[`v${j}`]!));
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } finally {
    childPool.release(c);
    parentPool.release(p);
  }
  return {
    name: fk.name,
    from: fk.from,
    to: fk.to,
    status: fresh > 0 ? 'orphans' : preexisting > 0 ? 'preexisting-orphans' : 'ok',
    checkedValues: checked,
    orphans,
    truncated,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The child rows (key and referencing values) holding some orphaned values. */
async function orphanRows(
  c: Client,
  fk: CutForeignKey,
  child: RouteShape,
  values: string[][],
): Promise<{ key: string[]; values: string[] }[]> {
  const typeOf = (name: string) => child.columns.find((col) => col.target === name)?.targetType ?? 'text';
  const arrays = fk.from.columns.map((_n, j) => values.map((v) => v[j]!));
  const { rows } = await c.query(
    `SELECT ${child.key.map((i, j) => `${quoteIdent(child.columns[i]!.target)}::text AS k${j}`).join(', ')},
            ${fk.from.columns.map((name, j) => `${quoteIdent(name)}::text AS v${j}`).join(', ')}
       FROM ${quoteQualified(fk.from.table.schema, fk.from.table.name)}
      WHERE (${fk.from.columns.map(quoteIdent).join(', ')}) IN (SELECT ${fk.from.columns
        .map((name, j) => `u.v${j}::${typeOf(name)}`)
        .join(
          ', ',
        )} FROM unnest(${arrays.map((_a, j) => `$${j + 1}::text[]`).join(', ')}) AS u(${arrays.map((_a, j) => `v${j}`).join(', ')}))
      ORDER BY 1`,
    arrays,
  );
  return rows.map((r) => ({
    key: child.key.map((_i, j) => r[`k${j}`] as string),
    values: fk.from.columns.map((_n, j) => r[`v${j}`] as string),
  }));
}

/** Of these child keys, the ones whose monolith row also references a missing parent. */
async function preexistingKeys(
  source: SnapshotPool,
  fk: CutForeignKey,
  child: RouteShape,
  keys: string[][],
): Promise<Set<string>> {
  const src = fk.source;
  return source.use(async (s) => {
    const arrays = child.key.map((_i, j) => keys.map((k) => k[j]!));
    const keyCols = child.key.map((i) => `c.${quoteIdent(child.columns[i]!.source)}`);
    const { rows } = await s.query(
      `SELECT ${keyCols.map((k, j) => `${k}::text AS k${j}`).join(', ')}
         FROM ${child.sourceOnly ? 'ONLY ' : ''}${quoteQualified(src.table.schema, src.table.name)} AS c
        WHERE (${keyCols.join(', ')}) IN (SELECT ${child.key
          .map((i, j) => `u.a${j}::${child.columns[i]!.sourceType}`)
          .join(
            ', ',
          )} FROM unnest(${arrays.map((_a, j) => `$${j + 1}::text[]`).join(', ')}) AS u(${arrays.map((_a, j) => `a${j}`).join(', ')}))
          AND ${src.columns.map((col) => `c.${quoteIdent(col)} IS NOT NULL`).join(' AND ')}
          AND NOT EXISTS (SELECT 1 FROM ${quoteQualified(src.references.schema, src.references.name)} AS p
                           WHERE ${src.columns.map((col, j) => `p.${quoteIdent(src.referencedColumns[j]!)} = c.${quoteIdent(col)}`).join(' AND ')})`,
      arrays,
    );
    return new Set(rows.map((r) => JSON.stringify(child.key.map((_i, j) => r[`k${j}`]))));
  });
}
