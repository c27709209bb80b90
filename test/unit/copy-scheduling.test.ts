import { describe, expect, it } from 'vitest';
import type { ReadGroup } from '../../src/copy/copy-plan.js';
import { mapLimited } from '../../src/concurrency.js';
import { ReadQueue } from '../../src/copy/read-queue.js';

const read = (table: string, lower: string | null, bytes: number): ReadGroup => ({
  read: {
    relation: { schema: 'public', name: table },
    method: 'key',
    lower,
    upper: null,
    columns: ['id'],
    format: 'binary',
  },
  sinks: [],
  estimatedBytes: bytes,
});
const label = (g: ReadGroup | undefined) => (g ? `${g.read.relation.name}#${g.read.lower ?? 0}` : 'none');

describe('ReadQueue', () => {
  it('takes the largest read of a relation not in flight, else the largest', () => {
    const q = new ReadQueue([
      read('docs', null, 100),
      read('docs', '10', 100),
      read('notes', null, 90),
      read('notes', '10', 90),
      read('tiny', null, 1),
    ]);
    const a = q.take();
    const b = q.take();
    expect([label(a), label(b)]).toEqual(['docs#0', 'notes#0']);
    // Both relations in flight: the next one is a relation nobody loads, even though it is smaller.
    const c = q.take();
    expect(label(c)).toBe('tiny#0');
    // Everything left is in flight: the largest anyway.
    expect(label(q.take())).toBe('docs#10');
    q.release(a!);
    q.release(b!);
    expect(label(q.take())).toBe('notes#10');
    expect(q.take()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it('frees a relation only when every read of it is released', () => {
    const q = new ReadQueue([read('a', null, 5), read('a', '1', 5), read('a', '2', 5), read('b', null, 1)]);
    const first = q.take()!;
    const second = q.take()!; // b is free: taken before a's second read
    expect([label(first), label(second)]).toEqual(['a#0', 'b#0']);
    const third = q.take()!; // only a's left
    expect(label(third)).toBe('a#1');
    q.release(first);
    q.release(second);
    expect(label(q.take())).toBe('a#2');
  });
});

describe('mapLimited', () => {
  it('keeps the items order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimited([30, 5, 20, 1, 10], 2, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40]);
    expect(peak).toBe(2);
  });

  it('runs every item, then throws the first failure in item order, not in time', async () => {
    const done: number[] = [];
    const error = await mapLimited([0, 1, 2, 3], 4, async (i) => {
      await new Promise((r) => setTimeout(r, i === 1 ? 40 : 5));
      done.push(i);
      if (i === 1 || i === 3) throw new Error(`item ${i}`);
      return i;
    }).catch((e: Error) => e);
    expect((error as Error).message).toBe('item 1');
    expect(done.sort()).toEqual([0, 1, 2, 3]);
  });
});
