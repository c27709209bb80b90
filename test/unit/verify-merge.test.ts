import { describe, expect, it } from 'vitest';
import {
  compareIntegerKeys,
  compareKeyBytes,
  mergeOrdered,
  type KeyedRow,
} from '../../src/verify/ordered-merge.js';
import { hashBucketCount, segmentsFrom, splitPoints } from '../../src/verify/segment-plan.js';

async function* rows(list: [string, string][]): AsyncGenerator<KeyedRow> {
  for (const [k, h] of list) yield { key: [k], h };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('mergeOrdered', () => {
  it('yields missing, extra and different keys, and counts every row', async () => {
    const counts = { source: 0, target: 0 };
    const diffs = await collect(
      mergeOrdered(
        rows([
          ['1', 'a'],
          ['2', 'b'],
          ['5', 'e'],
          ['10', 'x'],
        ]),
        rows([
          ['2', 'b'],
          ['3', 'c'],
          ['5', 'E'],
          ['10', 'x'],
          ['11', 'y'],
        ]),
        compareIntegerKeys,
        counts,
      ),
    );
    expect(diffs).toEqual([
      { kind: 'missing', key: ['1'] },
      { kind: 'extra', key: ['3'] },
      { kind: 'different', key: ['5'] },
      { kind: 'extra', key: ['11'] },
    ]);
    expect(counts).toEqual({ source: 4, target: 5 });
  });

  it('handles an empty side', async () => {
    expect(await collect(mergeOrdered(rows([]), rows([['1', 'a']]), compareIntegerKeys))).toEqual([
      { kind: 'extra', key: ['1'] },
    ]);
    expect(await collect(mergeOrdered(rows([['1', 'a']]), rows([]), compareIntegerKeys))).toEqual([
      { kind: 'missing', key: ['1'] },
    ]);
  });

  it('orders text keys by UTF-8 bytes (as convert_to on the server), column by column', () => {
    const sorted = [
      ['é', '1'],
      ['Z', '1'],
      ['a', '2'],
      ['😀', '1'],
      ['\uFFFD', '1'],
      ['a', '10'],
    ].sort(compareKeyBytes);
    expect(sorted).toEqual([
      ['Z', '1'],
      ['a', '10'],
      ['a', '2'],
      ['é', '1'],
      ['\uFFFD', '1'],
      ['😀', '1'],
    ]);
    expect(compareIntegerKeys(['-5'], ['3'])).toBe(-1);
    expect(compareIntegerKeys(['9223372036854775807'], ['9223372036854775806'])).toBe(1);
  });
});

describe('segment planning', () => {
  it('picks split points from a histogram, increasing and distinct', () => {
    const bounds = Array.from({ length: 101 }, (_, i) => BigInt(i * 10));
    expect(splitPoints(bounds, 4)).toEqual([250n, 500n, 750n]);
    expect(splitPoints([1n, 1n, 1n, 2n], 3)).toEqual([1n]);
    expect(splitPoints(bounds, 1)).toEqual([]);
  });

  it('makes unbounded first and last segments', () => {
    expect(segmentsFrom([10n, 20n], 300)).toEqual([
      { no: 0, lower: null, upper: 10n, estimatedRows: 100 },
      { no: 1, lower: 10n, upper: 20n, estimatedRows: 100 },
      { no: 2, lower: 20n, upper: null, estimatedRows: 100 },
    ]);
    expect(segmentsFrom([], 5)).toEqual([{ no: 0, lower: null, upper: null, estimatedRows: 5 }]);
  });

  it('sizes hash buckets as a power of two within bounds', () => {
    expect(hashBucketCount(0, 1000)).toBe(16);
    expect(hashBucketCount(1_000_000, 1000)).toBe(1024);
    expect(hashBucketCount(1e12, 1000)).toBe(65536);
  });
});
