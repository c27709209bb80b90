import { describe, expect, it } from 'vitest';
import { textArrayLiteral } from '../../src/pg/text-array.js';

describe('textArrayLiteral', () => {
  it('quotes every element, escapes quotes and backslashes, and writes NULL for null', () => {
    expect(textArrayLiteral(['a', 'b,c', '{x}', 'NULL', '', 'say "hi"', 'back\\slash', null, ' pad '])).toBe(
      '{"a","b,c","{x}","NULL","","say \\"hi\\"","back\\\\slash",NULL," pad "}',
    );
    expect(textArrayLiteral([])).toBe('{}');
    expect(textArrayLiteral(['a', 'b c', ''])).toBe('{"a","b c",""}');
    expect(textArrayLiteral(['x', null])).toBe('{"x",NULL}');
  });
});
