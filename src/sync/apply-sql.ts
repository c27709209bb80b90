import type { TableRef } from '../catalog/model.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { RoutePlan } from './route-plan.js';

/**
 * SQL the applier runs, rendered from a RoutePlan. Pure, so it is asserted as text in unit tests.
 *
 * Every statement reads its rows from one text[] parameter per column (unnested) or from the
 * session's staging table (RowSource): the statement text depends only on the table and the column
 * set (not on the row count), values are bound or COPYed (never inlined), and each value is cast
 * from pgoutput's text form to the column's type in the target (`'…'::type` is the type's input
 * function, the inverse of the output function the monolith used).
 */

const alias = (i: number): string => `a${i}`;

function unnestFrom(count: number, ordinality = false): string {
  const params = Array.from({ length: count }, (_, i) => `$${i + 1}::text[]`).join(', ');
  const names = Array.from({ length: count }, (_, i) => alias(i));
  if (ordinality) names.push('n');
  return `unnest(${params})${ordinality ? ' WITH ORDINALITY' : ''} AS u(${names.join(', ')})`;
}

/**
 * Where a statement's rows come from: `params`, one text[] parameter per column unnested; `stage`,
 * the session's TEMP staging table of that many text columns (a0, a1, …), filled by
 * `COPY … FROM STDIN (FORMAT binary)` just before (stage-rows.ts). Either way every value is text
 * cast to its column's type. Staged rows cost the target backend about a quarter less CPU
 * (bench/apply-shapes.ts); the parameters remain for sessions that may not create TEMP tables.
 */
export type RowSource = 'params' | 'stage';

/** Staging table of `width` text columns: a TEMP table of the session, emptied at commit. */
export function stageTable(width: number): string {
  return `pg_temp.carve_stage_${width}`;
}

/**
 * Create the staging table if the session has none (a batch that rolled back took the one it
 * created along), and empty it of the rows an earlier statement of this transaction staged. The
 * rows are dead until the commit truncates the table (ON COMMIT DELETE ROWS truncates in place: no
 * new file, no catalog row per batch, as a TRUNCATE per use would write).
 */
export function stageSetupSql(width: number): string {
  const columns = Array.from({ length: width }, (_, i) => `${alias(i)} text`).join(', ');
  return (
    `CREATE TEMP TABLE IF NOT EXISTS carve_stage_${width} (${columns}) ON COMMIT DELETE ROWS; ` +
    `DELETE FROM ${stageTable(width)}`
  );
}

function rowsFrom(source: RowSource, count: number): string {
  return source === 'params' ? unnestFrom(count) : `${stageTable(count)} AS u`;
}

function target(plan: RoutePlan): string {
  return quoteQualified(plan.route.target.schema, plan.route.target.name);
}

/**
 * Insert or overwrite whole rows, by key. Rows in one statement have distinct keys (ON CONFLICT
 * cannot touch a row twice). Every written column is set, so replaying a change rewrites the same row.
 * OVERRIDING SYSTEM VALUE: the monolith's value wins over a target `GENERATED ALWAYS AS IDENTITY`
 * column (a no-op for tables without one).
 */
export function upsertSql(plan: RoutePlan, source: RowSource = 'params'): string {
  const columns = plan.columns;
  const select = columns.map((c, i) => `u.${alias(i)}::${c.type}`).join(', ');
  const keySet = new Set(plan.key);
  const updates = columns
    .filter((_, i) => !keySet.has(i))
    .map((c) => `${quoteIdent(c.target)} = EXCLUDED.${quoteIdent(c.target)}`);
  const conflict = `ON CONFLICT (${plan.key.map((k) => quoteIdent(columns[k]!.target)).join(', ')})`;
  return (
    `INSERT INTO ${target(plan)} (${columns.map((c) => quoteIdent(c.target)).join(', ')}) OVERRIDING SYSTEM VALUE ` +
    `SELECT ${select} FROM ${rowsFrom(source, columns.length)} ` +
    (updates.length ? `${conflict} DO UPDATE SET ${updates.join(', ')}` : `${conflict} DO NOTHING`)
  );
}

/**
 * Overwrite whole rows that exist, by key (rows last written by an UPDATE). Cheaper than an upsert:
 * no speculative insertion. Parameters: every column. The caller compares the row count and
 * upserts the same rows when some were missing.
 */
export function updateSql(plan: RoutePlan, source: RowSource = 'params'): string {
  const keySet = new Set(plan.key);
  const assignments = plan.columns
    .map((c, i) => (keySet.has(i) ? null : `${quoteIdent(c.target)} = u.${alias(i)}::${c.type}`))
    .filter((a): a is string => a !== null);
  if (assignments.length === 0) return upsertSql(plan, source);
  const where = plan.key
    .map((k) => `t.${quoteIdent(plan.columns[k]!.target)} = u.${alias(k)}::${plan.columns[k]!.type}`)
    .join(' AND ');
  return `UPDATE ${target(plan)} AS t SET ${assignments.join(', ')} FROM ${rowsFrom(source, plan.columns.length)} WHERE ${where}`;
}

/**
 * Delete rows by key; parameters (or staged columns) are the key columns in plan.key order. A
 * missing row is fine.
 */
export function deleteSql(plan: RoutePlan, source: RowSource = 'params'): string {
  const keys = plan.key.map((k) => plan.columns[k]!);
  if (source === 'stage') {
    const where = keys.map((c, i) => `t.${quoteIdent(c.target)} = u.${alias(i)}::${c.type}`).join(' AND ');
    return `DELETE FROM ${target(plan)} AS t USING ${rowsFrom(source, keys.length)} WHERE ${where}`;
  }
  const tuple = keys.map((c) => quoteIdent(c.target)).join(', ');
  const select = keys.map((c, i) => `u.${alias(i)}::${c.type}`).join(', ');
  return `DELETE FROM ${target(plan)} WHERE (${tuple}) IN (SELECT ${select} FROM ${unnestFrom(keys.length)})`;
}

/**
 * Set some columns of existing rows (an update that left unchanged TOAST values out). Parameters:
 * the key columns, then `set` columns (positions in plan.columns). RETURNING the ordinal of each
 * row found, so rows that are not there can be re-read from the monolith.
 */
export function patchSql(plan: RoutePlan, set: readonly number[]): string {
  const keys = plan.key.map((k) => plan.columns[k]!);
  const where = keys.map((c, i) => `t.${quoteIdent(c.target)} = u.${alias(i)}::${c.type}`).join(' AND ');
  const assignments = set
    .map(
      (s, j) =>
        `${quoteIdent(plan.columns[s]!.target)} = u.${alias(keys.length + j)}::${plan.columns[s]!.type}`,
    )
    .join(', ');
  return `UPDATE ${target(plan)} AS t SET ${assignments} FROM ${unnestFrom(keys.length + set.length, true)} WHERE ${where} RETURNING u.n`;
}

/**
 * Move one row to a new key, setting the sent columns (a key-changing update with unsent TOAST
 * values). Parameters: old key values, then `set` columns (which include the new key).
 */
export function moveSql(plan: RoutePlan, set: readonly number[]): string {
  const keys = plan.key.map((k) => plan.columns[k]!);
  const assignments = set.map(
    (s, j) => `${quoteIdent(plan.columns[s]!.target)} = $${keys.length + j + 1}::${plan.columns[s]!.type}`,
  );
  const where = keys.map((c, i) => `${quoteIdent(c.target)} = $${i + 1}::${c.type}`).join(' AND ');
  return `UPDATE ${target(plan)} SET ${assignments.join(', ')} WHERE ${where}`;
}

/**
 * Re-read rows from the monolith by key, every written column as text (the same form pgoutput
 * sends). Parameters: key columns in plan.key order. Runs on the source.
 */
export function refetchSql(plan: RoutePlan): string {
  const source = plan.route.source;
  const keys = plan.key.map((k) => plan.columns[k]!);
  const tuple = keys.map((c) => `s.${quoteIdent(c.source)}`).join(', ');
  const select = keys.map((c, i) => `u.${alias(i)}::${c.type}`).join(', ');
  const columns = plan.columns.map((c) => `s.${quoteIdent(c.source)}::text`).join(', ');
  return `SELECT ${columns} FROM ${quoteQualified(source.schema, source.name)} AS s WHERE (${tuple}) IN (SELECT ${select} FROM ${unnestFrom(keys.length)})`;
}

/** TRUNCATE the routed target tables of one source TRUNCATE, together (so FKs among them allow it). */
export function truncateSql(tables: readonly TableRef[]): string {
  return `TRUNCATE ${tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`;
}
