import { describe, expect, it } from 'vitest';
import { mapLimited } from '../../src/concurrency.js';

// The default mode ('finish') is covered in copy-scheduling.test.ts; this is verify's mode.
describe("mapLimited with onFailure: 'stop'", () => {
  it('starts nothing after the first failure and throws it once the calls in flight settle', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const error = await mapLimited(
      [0, 1, 2, 3, 4, 5],
      2,
      async (i) => {
        started.push(i);
        await new Promise((r) => setTimeout(r, i === 0 ? 40 : 5));
        finished.push(i);
        if (i === 1) throw new Error('item 1');
      },
      { onFailure: 'stop' },
    ).catch((e: Error) => e);
    expect((error as Error).message).toBe('item 1');
    // Item 0 was in flight when item 1 failed: it settles; items 2…5 never start.
    expect(started.sort()).toEqual([0, 1]);
    expect(finished.sort()).toEqual([0, 1]);
  });

  it('throws the first failure in time, not in item order', async () => {
    const error = await mapLimited(
      [0, 1],
      2,
      async (i) => {
        await new Promise((r) => setTimeout(r, i === 0 ? 40 : 5));
        throw new Error(`item ${i}`);
      },
      { onFailure: 'stop' },
    ).catch((e: Error) => e);
    expect((error as Error).message).toBe('item 1');
  });

  it('returns every result in item order when nothing fails, and runs nothing for no items', async () => {
    expect(await mapLimited([3, 1, 2], 2, async (n) => n * 2, { onFailure: 'stop' })).toEqual([6, 2, 4]);
    expect(await mapLimited([], 4, async () => 1, { onFailure: 'stop' })).toEqual([]);
  });
});
