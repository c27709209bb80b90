import { MAX_IDENTIFIER_BYTES, quoteLiteral } from '../pg/quote.js';

/**
 * Small text helpers for rendered DDL and psql scripts. Identifiers still go through quoteIdent;
 * these only deal with what PostgreSQL itself rendered (type names) and with psql's syntax.
 */

/**
 * Split a name as PostgreSQL renders it (`public."Order Status"[]`, `public.positive_amount`) into
 * schema and name, unquoting; array brackets and type modifiers are ignored.
 */
export function parseRenderedName(text: string): { schema?: string; name: string } {
  const parts: string[] = [];
  let i = 0;
  let current = '';
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = findClosingQuote(text, i + 1);
      current += text.slice(i + 1, end).replaceAll('""', '"');
      i = end + 1;
    } else if (ch === '.') {
      parts.push(current);
      current = '';
      i++;
    } else if (ch === '[' || ch === '(') {
      break;
    } else {
      current += ch;
      i++;
    }
  }
  parts.push(current);
  const name = parts[parts.length - 1]!;
  return parts.length > 1 ? { schema: parts[parts.length - 2]!, name } : { name };
}

function findClosingQuote(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') i += 2;
      else return i;
    } else i++;
  }
  return text.length;
}

/** Clip a generated name to PostgreSQL's limit without splitting a UTF-8 character, as the server would. */
export function clipIdentifier(name: string): string {
  let out = '';
  for (const ch of name) {
    if (Buffer.byteLength(out + ch, 'utf8') > MAX_IDENTIFIER_BYTES) break;
    out += ch;
  }
  return out;
}

/**
 * A psql line that runs `statement` only when `condition` (a SQL boolean expression) holds, for
 * statements that cannot run inside DO blocks (CREATE DATABASE) or should not (CREATE ROLE).
 */
export function psqlIf(condition: string, statement: string): string {
  return `SELECT ${quoteLiteral(statement)} WHERE ${condition}\\gexec`;
}

/**
 * psql's \connect to a database by name, keeping the current host, port and user. The name goes
 * in a conninfo string (`dbname='…'`): given on its own, psql would read a name containing `=` or
 * starting with `postgres://` as a connection string. psql undoubles `''` and reads `\\` as `\`
 * in the single-quoted argument; libpq then reads `\'` and `\\` in the quoted value.
 */
export function psqlConnect(database: string): string {
  const conninfo = `dbname='${database.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return `\\connect -reuse-previous=on '${conninfo.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
