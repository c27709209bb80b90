import { isSecretParameter } from '../pg/connect.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/quote.js';
import type { RouteShape } from './route-shape.js';

/**
 * Repair statements for one target row, from the monolith's values. Pure. Values are literals
 * (a SQL file takes no parameters), each cast to the target column's type; generated columns are
 * left to the target to compute.
 */

function literal(value: string | null, type: string): string {
  return value === null ? 'NULL' : `${quoteLiteral(value)}::${type}`;
}

function target(shape: RouteShape): string {
  return quoteQualified(shape.target.schema, shape.target.name);
}

function keyCondition(shape: RouteShape, key: readonly string[]): string {
  return shape.key
    .map(
      (i, j) => `${quoteIdent(shape.columns[i]!.target)} = ${literal(key[j]!, shape.columns[i]!.targetType)}`,
    )
    .join(' AND ');
}

/** `values` are every compared column's text, in shape.columns order. */
export function insertSql(shape: RouteShape, values: readonly (string | null)[]): string {
  const kept = shape.columns.map((c, i) => ({ c, v: values[i]! })).filter((x) => !x.c.generated);
  return (
    `INSERT INTO ${target(shape)} (${kept.map((x) => quoteIdent(x.c.target)).join(', ')}) OVERRIDING SYSTEM VALUE ` +
    `VALUES (${kept.map((x) => literal(x.v, x.c.targetType)).join(', ')});`
  );
}

export function deleteSql(shape: RouteShape, key: readonly string[]): string {
  return `DELETE FROM ${target(shape)} WHERE ${keyCondition(shape, key)};`;
}

/** Sets the differing columns (positions in shape.columns) to the monolith's values. */
export function updateSql(
  shape: RouteShape,
  key: readonly string[],
  values: readonly (string | null)[],
  differing: readonly number[],
): string {
  const set = differing.filter((i) => !shape.columns[i]!.generated);
  if (set.length === 0) {
    return `-- ${target(shape)} ${JSON.stringify(key)}: only generated columns differ; check the inputs of their expressions.`;
  }
  const assignments = set.map(
    (i) => `${quoteIdent(shape.columns[i]!.target)} = ${literal(values[i]!, shape.columns[i]!.targetType)}`,
  );
  return `UPDATE ${target(shape)} SET ${assignments.join(', ')} WHERE ${keyCondition(shape, key)};`;
}

/** Moves a sequence past the column's largest value as it is when the repair runs (after its inserts). */
export function setvalSql(sequence: string, table: { schema: string; name: string }, column: string): string {
  return (
    `SELECT pg_catalog.setval(${quoteLiteral(sequence)}::regclass, m, true) ` +
    `FROM (SELECT max(${quoteIdent(column)}) AS m FROM ${quoteQualified(table.schema, table.name)}) AS s WHERE m IS NOT NULL;`
  );
}

/**
 * psql's \connect for the next section of the file. The argument is a connection URI without its
 * password (psql takes it from PGPASSWORD or ~/.pgpass); in psql's single-quoted arguments a quote
 * is doubled and a backslash escaped.
 */
export function connectMetaCommand(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()])
    if (isSecretParameter(key)) parsed.searchParams.delete(key);
  return `\\connect '${parsed.toString().replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
