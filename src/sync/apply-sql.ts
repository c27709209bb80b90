import type { TableRef } from '../catalog/model.js';
import { quoteIdent, quoteQualified } from '../pg/quote.js';
import type { RoutePlan } from './route-plan.js';

/**
 * SQL the applier runs, rendered from a RoutePlan. Pure, so it is asserted as text in unit tests.
 *
 * Every statement takes one text[] parameter per column and unnests them: the statement text
 * depends only on the table and the column set (not on the row count), values are bound (never
 * inlined), and each value is cast from pgoutput's text form to the column's type in the target
 * (`'…'::type` is the type's input function, the inverse of the output function the monolith used).
 *
 * Rows are taken in key order (ORDER BY the cast key): a batch's rows come in the order their keys
 * first changed, and probing the key index and the heap in key order visits neighbouring keys one
 * after the other, while their pages are still in the CPU's caches — about a quarter less CPU of
 * the target backend for rows in random key order (bench/apply-shapes.ts, bench/RESULTS.md "Apply
 * statement shapes"). PostgreSQL's sort returns presorted input after one pass, so rows that
 * already come in key order (a large UPDATE in physical order) pay little for it. The order changes
 * nothing else: keys within a statement are distinct (PendingChanges), and a batch whose
 * reordering broke a unique constraint is retried in source order (strict mode), where the
 * statements keep the rows' source order (`ordered` false): PostgreSQL checks a unique index row
 * by row, so two rows trading a value must go in the order the monolith wrote them.
 */

const alias = (i: number): string => `a${i}`;

function unnestFrom(count: number, ordinality = false): string {
  const params = Array.from({ length: count }, (_, i) => `$${i + 1}::text[]`).join(', ');
  const names = Array.from({ length: count }, (_, i) => alias(i));
  if (ordinality) names.push('n');
  return `unnest(${params})${ordinality ? ' WITH ORDINALITY' : ''} AS u(${names.join(', ')})`;
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
export function upsertSql(plan: RoutePlan, ordered = true): string {
  const columns = plan.columns;
  const select = columns.map((c, i) => `u.${alias(i)}::${c.type}`).join(', ');
  const keySet = new Set(plan.key);
  const updates = columns
    .filter((_, i) => !keySet.has(i))
    .map((c) => `${quoteIdent(c.target)} = EXCLUDED.${quoteIdent(c.target)}`);
  const conflict = `ON CONFLICT (${plan.key.map((k) => quoteIdent(columns[k]!.target)).join(', ')})`;
  const order = plan.key.map((k) => k + 1).join(', ');
  return (
    `INSERT INTO ${target(plan)} (${columns.map((c) => quoteIdent(c.target)).join(', ')}) OVERRIDING SYSTEM VALUE ` +
    `SELECT ${select} FROM ${unnestFrom(columns.length)} ${ordered ? `ORDER BY ${order} ` : ''}` +
    (updates.length ? `${conflict} DO UPDATE SET ${updates.join(', ')}` : `${conflict} DO NOTHING`)
  );
}

/**
 * Overwrite whole rows that exist, by key (rows last written by an UPDATE). Cheaper than an upsert:
 * no speculative insertion. Parameters: every column. The caller compares the row count and
 * upserts the same rows when some were missing.
 */
export function updateSql(plan: RoutePlan, ordered = true): string {
  const keySet = new Set(plan.key);
  const assignments = plan.columns
    .map((c, i) => (keySet.has(i) ? null : `${quoteIdent(c.target)} = u.${alias(i)}::${c.type}`))
    .filter((a): a is string => a !== null);
  if (assignments.length === 0) return upsertSql(plan, ordered);
  const where = plan.key.map((k, j) => `t.${quoteIdent(plan.columns[k]!.target)} = u.k${j}`).join(' AND ');
  return `UPDATE ${target(plan)} AS t SET ${assignments.join(', ')} FROM ${keyOrdered(
    plan.key.map((k) => [k, plan.columns[k]!.type]),
    plan.columns.length,
    ordered,
  )} WHERE ${where}`;
}

/**
 * The unnested rows with their key cast once (k0, k1, …), sorted by it when `ordered`. A subquery
 * with ORDER BY is not flattened into the join, so the nested loop probes the target in this
 * order; without, it is, and the rows go in parameter (source) order.
 */
function keyOrdered(
  keys: readonly (readonly [number, string])[],
  count: number,
  ordered: boolean,
  ordinality = false,
): string {
  const casts = keys.map(([at, type], j) => `u.${alias(at)}::${type} AS k${j}`).join(', ');
  const order = keys.map((_, j) => j + 1).join(', ');
  return `(SELECT ${casts}, u.* FROM ${unnestFrom(count, ordinality)}${ordered ? ` ORDER BY ${order}` : ''}) AS u`;
}

/**
 * Delete rows by key; parameters are the key columns in plan.key order (distinct: PendingChanges
 * collapsed them). A missing row is fine.
 */
export function deleteSql(plan: RoutePlan, ordered = true): string {
  const keys = plan.key.map((k) => plan.columns[k]!);
  const where = keys.map((c, j) => `t.${quoteIdent(c.target)} = u.k${j}`).join(' AND ');
  return `DELETE FROM ${target(plan)} AS t USING ${keyOrdered(
    keys.map((c, i) => [i, c.type]),
    keys.length,
    ordered,
  )} WHERE ${where}`;
}

/**
 * Set some columns of existing rows (an update that left unchanged TOAST values out). Parameters:
 * the key columns, then `set` columns (positions in plan.columns). RETURNING the ordinal of each
 * row found, so rows that are not there can be re-read from the monolith. Rows in key order like
 * the other statements (`ordered`), the ordinal still that of the parameters.
 */
export function patchSql(plan: RoutePlan, set: readonly number[], ordered = true): string {
  const keys = plan.key.map((k) => plan.columns[k]!);
  const where = keys.map((c, j) => `t.${quoteIdent(c.target)} = u.k${j}`).join(' AND ');
  const assignments = set
    .map(
      (s, j) =>
        `${quoteIdent(plan.columns[s]!.target)} = u.${alias(keys.length + j)}::${plan.columns[s]!.type}`,
    )
    .join(', ');
  return `UPDATE ${target(plan)} AS t SET ${assignments} FROM ${keyOrdered(
    keys.map((c, i) => [i, c.type]),
    keys.length + set.length,
    ordered,
    true,
  )} WHERE ${where} RETURNING u.n`;
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
