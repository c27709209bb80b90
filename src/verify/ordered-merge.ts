/**
 * Merge of two key-ordered row streams (monolith and target) into the rows that differ. Pure:
 * works on async iterables, holds one row of each side at a time, so memory does not depend on
 * how many rows are read.
 */

export interface KeyedRow {
  /** Key column values as text. */
  key: string[];
  /** Row hash (decimal text). */
  h: string;
}

export type RowDifference = { kind: 'missing' | 'extra' | 'different'; key: string[] };

export type KeyCompare = (a: readonly string[], b: readonly string[]) => number;

/** Integer keys, ordered numerically by the server (ORDER BY key). */
export const compareIntegerKeys: KeyCompare = (a, b) => {
  const x = BigInt(a[0]!);
  const y = BigInt(b[0]!);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Any key, ordered by the UTF-8 bytes of each column's text (ORDER BY convert_to(k, 'UTF8')). */
export const compareKeyBytes: KeyCompare = (a, b) => {
  for (let i = 0; i < a.length; i++) {
    const c = Buffer.compare(Buffer.from(a[i]!, 'utf8'), Buffer.from(b[i]!, 'utf8'));
    if (c !== 0) return c;
  }
  return 0;
};

export interface MergeCounts {
  source: number;
  target: number;
}

/**
 * Yields every key missing in the target, extra in the target, or present on both sides with a
 * different row hash. `counts` is filled as rows are consumed.
 */
export async function* mergeOrdered(
  source: AsyncIterable<KeyedRow>,
  target: AsyncIterable<KeyedRow>,
  compare: KeyCompare,
  counts: MergeCounts = { source: 0, target: 0 },
): AsyncGenerator<RowDifference> {
  const s = source[Symbol.asyncIterator]();
  const t = target[Symbol.asyncIterator]();
  const next = async (
    it: AsyncIterator<KeyedRow>,
    side: keyof MergeCounts,
  ): Promise<KeyedRow | undefined> => {
    const r = await it.next();
    if (r.done) return undefined;
    counts[side]++;
    return r.value;
  };
  try {
    let a = await next(s, 'source');
    let b = await next(t, 'target');
    while (a || b) {
      const c = !a ? 1 : !b ? -1 : compare(a.key, b.key);
      if (c < 0) {
        yield { kind: 'missing', key: a!.key };
        a = await next(s, 'source');
      } else if (c > 0) {
        yield { kind: 'extra', key: b!.key };
        b = await next(t, 'target');
      } else {
        if (a!.h !== b!.h) yield { kind: 'different', key: a!.key };
        a = await next(s, 'source');
        b = await next(t, 'target');
      }
    }
  } finally {
    await s.return?.();
    await t.return?.();
  }
}

/** Groups an async stream into arrays of at most `size` items. */
export async function* batches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
