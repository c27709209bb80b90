import { formatLsn, type Lsn } from '../pg/lsn.js';
import type { ApplyItem } from './apply-queue.js';
import type { HoldRow } from './hold-row.js';

interface Hold {
  lsn: Lsn;
  /** api: engine.holdAt() in this process; table: a row in <state>.holds (another process). */
  fromTable: boolean;
  reached: boolean;
}

export type HoldDecision =
  | { kind: 'none' }
  /** Stop here: every source transaction before `lsn` is applied, none at or after it. */
  | { kind: 'reach'; lsn: Lsn; fromTable: boolean }
  /** Already stopped at `lsn`; wait for the release. */
  | { kind: 'held'; lsn: Lsn }
  /** A transaction at or after `lsn` was applied before the hold was known: it cannot be honoured. */
  | { kind: 'failed'; lsn: Lsn; fromTable: boolean; error: string };

/**
 * The holds one applier must honour, from both sources, and the decision at a source commit
 * boundary. Pure. The lowest unresolved hold wins; a later one waits until it is released.
 */
export class HoldBook {
  private readonly holds = new Map<string, Hold>();
  private released: Lsn[] = [];

  get size(): number {
    return this.holds.size;
  }

  addApi(lsn: Lsn): void {
    const key = `api:${lsn}`;
    if (!this.holds.has(key)) this.holds.set(key, { lsn, fromTable: false, reached: false });
  }

  removeApi(lsn: Lsn): void {
    this.holds.delete(`api:${lsn}`);
  }

  /** Sync with the rows read from <state>.holds: new ones are added, deleted ones are released. */
  replaceTableHolds(rows: readonly HoldRow[]): void {
    const seen = new Set<string>();
    for (const row of rows) {
      if (row.error !== null) continue; // already refused; the requester deletes it
      const key = `table:${row.lsn}`;
      seen.add(key);
      const hold = this.holds.get(key);
      if (hold) hold.reached ||= row.reached;
      else this.holds.set(key, { lsn: row.lsn, fromTable: true, reached: row.reached });
    }
    for (const [key, hold] of this.holds) {
      if (hold.fromTable && !seen.has(key)) {
        this.holds.delete(key);
        if (hold.reached) this.released.push(hold.lsn);
      }
    }
  }

  /** Table holds released since the last call (their rows were deleted). */
  takeReleased(): Lsn[] {
    const released = this.released;
    this.released = [];
    return released;
  }

  /**
   * At a source commit boundary: `position` is this applier's processed position, `lastDataCommit`
   * the commit LSN of the last transaction it applied, `next` the next queued item.
   */
  decide(next: ApplyItem | undefined, position: Lsn, lastDataCommit: Lsn): HoldDecision {
    let active: Hold | undefined;
    for (const hold of this.holds.values()) if (!active || hold.lsn < active.lsn) active = hold;
    if (!active) return { kind: 'none' };
    if (active.reached) return { kind: 'held', lsn: active.lsn };
    if (lastDataCommit >= active.lsn) {
      this.holds.delete(active.fromTable ? `table:${active.lsn}` : `api:${active.lsn}`);
      return {
        kind: 'failed',
        lsn: active.lsn,
        fromTable: active.fromTable,
        error: `a transaction committed at ${formatLsn(lastDataCommit)} was already applied`,
      };
    }
    const arrived =
      position >= active.lsn ||
      (next?.kind === 'begin' && next.commitLsn >= active.lsn) ||
      (next?.kind === 'advance' && next.upTo >= active.lsn);
    if (!arrived) return { kind: 'none' };
    active.reached = true;
    return { kind: 'reach', lsn: active.lsn, fromTable: active.fromTable };
  }

  lowest(): Lsn | undefined {
    let lowest: Lsn | undefined;
    for (const hold of this.holds.values()) if (lowest === undefined || hold.lsn < lowest) lowest = hold.lsn;
    return lowest;
  }
}
