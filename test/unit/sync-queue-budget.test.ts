import { describe, expect, it } from 'vitest';
import { ApplyQueue, type ApplyItem } from '../../src/sync/apply-queue.js';
import { QueueBudget } from '../../src/sync/queue-budget.js';

// A control item counts 64 bytes in a queue (apply-queue.ts).
const ITEM = 64;
let lsn = 0n;
const item = (): ApplyItem => ({ kind: 'commit', commitLsn: ++lsn, endLsn: lsn, commitTime: 0n });
const fill = (queue: ApplyQueue, items: number) => {
  for (let i = 0; i < items; i++) queue.push(item());
};
const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('QueueBudget: one bound for the queues of every sink of a session', () => {
  it('counts the queues together, not each against the whole bound', () => {
    const budget = new QueueBudget(8 * ITEM);
    const a = new ApplyQueue(budget);
    const b = new ApplyQueue(budget);
    const c = new ApplyQueue(budget);
    fill(a, 3);
    fill(b, 3);
    expect(a.full || b.full || c.full).toBe(false);
    fill(c, 2);
    expect(budget.bytes).toBe(8 * ITEM);
    // Every queue says full, the empty ones too: the reader waits whichever it checks.
    expect([a.full, b.full, c.full]).toEqual([true, true, true]);
  });

  it('lets a lone queue take all of it, one of several at most half', () => {
    const alone = new ApplyQueue(new QueueBudget(8 * ITEM));
    fill(alone, 7);
    expect(alone.full).toBe(false);
    fill(alone, 1);
    expect(alone.full).toBe(true);

    const budget = new QueueBudget(8 * ITEM);
    const slow = new ApplyQueue(budget);
    const other = new ApplyQueue(budget);
    fill(slow, 3);
    expect(slow.full).toBe(false);
    fill(slow, 1);
    expect(slow.full).toBe(true);
    expect(other.full).toBe(false);
  });

  it('leaves half of it to the others while one queue is held (never drained)', async () => {
    const budget = new QueueBudget(8 * ITEM);
    const held = new ApplyQueue(budget);
    const busy = new ApplyQueue(budget);
    const quiet = new ApplyQueue(budget);
    fill(held, 3); // just under its half
    // The busy queue gets the rest (up to its own half); then the reader pauses …
    fill(busy, 3);
    expect(held.full || busy.full || quiet.full).toBe(false);
    fill(busy, 1);
    expect(busy.full).toBe(true);
    const space = busy.waitForSpace();
    expect(await settled(space)).toBe(false);
    // … and goes on once the busy queue drained enough to bring the total under half,
    // though the held queue keeps what it has.
    busy.shift();
    busy.shift();
    busy.shift();
    expect(await settled(space)).toBe(false); // 4 items left: at half, not under
    busy.shift();
    expect(await settled(space)).toBe(true);
    expect(held.length).toBe(3);
    // A held queue that reached its half pauses the reader until it drains (as a full queue of
    // its own did before the budget was shared): the stream is held, nothing is dropped.
    fill(held, 1);
    expect([held.full, quiet.full]).toEqual([true, false]); // the reader checks every queue
    const again = held.waitForSpace();
    expect(await settled(again)).toBe(false);
    held.shift();
    expect(await settled(again)).toBe(true);
  });

  it('never drops an item: pushing past the bound succeeds, only waiting is asked for', () => {
    const budget = new QueueBudget(2 * ITEM);
    const a = new ApplyQueue(budget);
    const b = new ApplyQueue(budget);
    fill(a, 10);
    fill(b, 5);
    expect(a.length).toBe(10);
    expect(b.length).toBe(5);
    expect(budget.bytes).toBe(15 * ITEM);
    for (let i = 0; i < 10; i++) expect(a.shift()?.kind).toBe('commit');
    expect(budget.bytes).toBe(5 * ITEM);
  });

  it('releases a waiting reader and the bytes of a cleared queue (the session is ending)', async () => {
    const budget = new QueueBudget(4 * ITEM);
    const a = new ApplyQueue(budget);
    const b = new ApplyQueue(budget);
    fill(a, 2);
    fill(b, 2);
    const space = a.waitForSpace();
    expect(await settled(space)).toBe(false);
    a.clear();
    expect(await settled(space)).toBe(true);
    expect(budget.bytes).toBe(2 * ITEM);
    b.clear();
    expect(budget.bytes).toBe(0);
  });

  it('merges consecutive advances without counting them twice', () => {
    const budget = new QueueBudget(4 * ITEM);
    const a = new ApplyQueue(budget);
    a.push({ kind: 'advance', upTo: 10n });
    a.push({ kind: 'advance', upTo: 20n });
    expect(a.length).toBe(1);
    expect(budget.bytes).toBe(ITEM);
    expect(a.shift()).toEqual({ kind: 'advance', upTo: 20n });
    expect(budget.bytes).toBe(0);
  });
});
