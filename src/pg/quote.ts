/**
 * Identifier quoting. Every identifier carve puts into SQL goes through here, so a table called
 * `"; drop table x; --` migrates like any other. Values are never quoted: they are bound.
 */

/** Quote one identifier: `a"b` → `"a""b"`. Rejects NUL, which PostgreSQL cannot store. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error(`identifier contains a NUL byte: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** Schema and name as separate arguments, so a dot inside a name is never mistaken for a separator. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A comma-separated list of quoted identifiers. */
export function quoteIdentList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}

/**
 * A string literal, for the few places PostgreSQL takes no parameters (DDL such as
 * `COMMENT ON`, `CREATE ROLE … PASSWORD`, replication commands, dry-run SQL files).
 * Uses the E'' form only when a backslash is present, like PostgreSQL's quote_literal.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('string literal contains a NUL byte');
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

/** PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

export function identifierBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

export function isIdentifierTooLong(name: string): boolean {
  return identifierBytes(name) > MAX_IDENTIFIER_BYTES;
}
