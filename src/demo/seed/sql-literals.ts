import { quoteLiteral } from '../../pg/quote.js';

/** A text[] literal, for function bodies and column expressions (DDL-like text we generate). */
export function textArray(values: readonly string[]): string {
  return `ARRAY[${values.map(quoteLiteral).join(', ')}]::text[]`;
}
