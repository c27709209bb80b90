import { describe, expect, it } from 'vitest';
import { BinaryTextArray, BinaryTextArrays } from '../../src/pg/text-array.js';

/** array_recv's reading of a one-dimensional text[]: header checked, elements as strings. */
function read(buf: Buffer): (string | null)[] {
  expect(buf.readInt32BE(0)).toBe(1);
  expect(buf.readInt32BE(8)).toBe(25);
  expect(buf.readInt32BE(16)).toBe(1);
  const values: (string | null)[] = [];
  let pos = 20;
  for (let i = buf.readInt32BE(12); i > 0; i--) {
    const size = buf.readInt32BE(pos);
    pos += 4;
    values.push(size === -1 ? null : buf.toString('utf8', pos, pos + size));
    if (size > 0) pos += size;
  }
  expect(pos).toBe(buf.length);
  expect(buf.readInt32BE(4)).toBe(values.includes(null) ? 1 : 0);
  return values;
}

describe('BinaryTextArray', () => {
  it('writes text, NULLs and non-ASCII as array_recv reads them, growing its buffer as needed', () => {
    const values = [
      'a',
      'b,c',
      '{x}',
      'NULL',
      '',
      'say "hi"',
      'back\\slash',
      null,
      ' pad ',
      'Zoë',
      '€'.repeat(40),
    ];
    values.push('x'.repeat(10_000), '😀 emoji', 'é'.repeat(70));
    const array = new BinaryTextArray(24);
    for (const v of values) array.add(v);
    expect(read(array.finish())).toEqual(values);
    array.reset();
    expect(read(array.finish())).toEqual([]);
  });

  it('copies framed elements (Int32 length and bytes) as they are', () => {
    const element = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('abc')]);
    const long = Buffer.concat([Buffer.from([0, 0, 0, 100]), Buffer.alloc(100, 'z')]);
    const src = Buffer.concat([Buffer.from('junk'), element, long]);
    const array = new BinaryTextArray();
    expect(array.addFramed(src, 4)).toBe(7);
    expect(array.addFramed(src, 11)).toBe(104);
    array.addNull();
    expect(read(array.finish())).toEqual(['abc', 'z'.repeat(100), null]);
  });

  it('reuses its arrays: a new statement starts empty', () => {
    const arrays = new BinaryTextArrays();
    const [first] = arrays.take(1);
    first!.add('one');
    first!.add(null);
    expect(read(first!.finish())).toEqual(['one', null]);
    const again = arrays.take(2);
    expect(again[0]).toBe(first);
    again[0]!.add('two');
    expect(read(again[0]!.finish())).toEqual(['two']);
    expect(read(again[1]!.finish())).toEqual([]);
  });
});
