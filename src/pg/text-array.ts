/**
 * A PostgreSQL array literal of text values, `{"a","b \"c\"",NULL}`, to bind as one text[]
 * parameter. pg can serialise a JS array itself, but escapes every element with two regular
 * expressions; sync binds millions of values, and almost none contain a quote or a backslash.
 * Every element is quoted, so commas, braces, blanks and the word NULL stay data.
 */
export function textArrayLiteral(values: readonly (string | null | undefined)[]): string {
  if (values.length === 0) return '{}';
  let plain = true;
  for (let i = 0; i < values.length && plain; i++) {
    const value = values[i];
    plain = typeof value === 'string' && value.indexOf('"') === -1 && value.indexOf('\\') === -1;
  }
  // The common case in one join, without a quoted copy of every value.
  if (plain) return `{"${(values as string[]).join('","')}"}`;
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) parts[i] = 'NULL';
    else if (value.indexOf('"') === -1 && value.indexOf('\\') === -1) parts[i] = `"${value}"`;
    else parts[i] = `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `{${parts.join(',')}}`;
}
