import { describe, expect, it } from 'vitest';
import { HoldBook } from '../../src/sync/hold-book.js';

describe('HoldBook', () => {
  it('reaches a hold at a transaction committing at or after it, or an advance past it, and then holds', () => {
    const book = new HoldBook();
    book.addApi(1000n);
    expect(
      book.decide({ kind: 'begin', xid: 1, commitLsn: 999n, commitTime: 0n, origin: null }, 500n, 400n),
    ).toEqual({
      kind: 'none',
    });
    expect(book.decide({ kind: 'advance', upTo: 999n }, 500n, 400n)).toEqual({ kind: 'none' });
    expect(
      book.decide({ kind: 'begin', xid: 1, commitLsn: 1000n, commitTime: 0n, origin: null }, 990n, 900n),
    ).toEqual({
      kind: 'reach',
      lsn: 1000n,
      fromTable: false,
    });
    expect(book.decide(undefined, 1000n, 900n)).toEqual({ kind: 'held', lsn: 1000n });
    book.removeApi(1000n);
    expect(book.decide(undefined, 1000n, 900n)).toEqual({ kind: 'none' });

    const byAdvance = new HoldBook();
    byAdvance.addApi(1000n);
    expect(byAdvance.decide({ kind: 'advance', upTo: 1200n }, 900n, 800n).kind).toBe('reach');
    const byPosition = new HoldBook();
    byPosition.addApi(1000n);
    expect(byPosition.decide(undefined, 1000n, 800n).kind).toBe('reach');
  });

  it('fails a hold when a transaction at or after it was already applied', () => {
    const book = new HoldBook();
    book.addApi(1000n);
    expect(book.decide(undefined, 1200n, 1000n)).toMatchObject({
      kind: 'failed',
      lsn: 1000n,
      fromTable: false,
    });
    expect(book.size).toBe(0);
  });

  it('follows the holds table: new rows hold, deleted reached rows are released, refused rows are ignored', () => {
    const book = new HoldBook();
    book.replaceTableHolds([
      { lsn: 2000n, requestedBy: 'verify', reached: false, error: null },
      { lsn: 50n, requestedBy: 'naive', reached: false, error: 'already applied' },
    ]);
    expect(
      book.decide({ kind: 'begin', xid: 1, commitLsn: 2100n, commitTime: 0n, origin: null }, 1900n, 1800n),
    ).toEqual({
      kind: 'reach',
      lsn: 2000n,
      fromTable: true,
    });
    book.replaceTableHolds([{ lsn: 2000n, requestedBy: 'verify', reached: true, error: null }]);
    expect(book.takeReleased()).toEqual([]);
    book.replaceTableHolds([]);
    expect(book.takeReleased()).toEqual([2000n]);
    expect(book.decide(undefined, 2000n, 1800n)).toEqual({ kind: 'none' });
  });

  it('honours the lowest of several holds first', () => {
    const book = new HoldBook();
    book.addApi(3000n);
    book.replaceTableHolds([{ lsn: 2000n, requestedBy: 'v', reached: false, error: null }]);
    expect(book.decide({ kind: 'advance', upTo: 5000n }, 1000n, 900n)).toMatchObject({
      kind: 'reach',
      lsn: 2000n,
    });
    expect(book.lowest()).toBe(2000n);
  });
});
