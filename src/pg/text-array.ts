/**
 * A PostgreSQL array literal of text values, `{"a","b \"c\"",NULL}`, to bind as one text[]
 * parameter. pg can serialise a JS array itself, but escapes every element with two regular
 * expressions; sync binds millions of values, and almost none contain a quote or a backslash.
 * Every element is quoted, so commas, braces, blanks and the word NULL stay data.
 */
export function textArrayLiteral(values: readonly (string | null | undefined)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) parts[i] = 'NULL';
    else if (value.indexOf('"') === -1 && value.indexOf('\\') === -1) parts[i] = `"${value}"`;
    else parts[i] = `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `{${parts.join(',')}}`;
}
