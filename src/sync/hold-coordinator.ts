import { CarveError } from '../errors.js';
import { formatLsn, maxLsn, type Lsn } from '../pg/lsn.js';
import type { Sink } from './sink.js';

interface ActiveHold {
  lsn: Lsn;
  reached: Set<string>;
  resolve: (lsn: Lsn) => void;
  reject: (error: unknown) => void;
}

/**
 * The engine's in-process hold (SyncEngine.holdAt / release): installed on every sink of the
 * current session (and, through `current`, of every later one), resolved once every sink
 * reported it reached.
 */
export class HoldCoordinator {
  private hold: ActiveHold | undefined;

  constructor(
    /** Names of every sink (service databases and others). */
    private readonly names: () => readonly string[],
    /** Sinks of the running session (empty between sessions). */
    private readonly sinks: () => readonly Sink[],
    /** Durable positions last known per database (used between sessions). */
    private readonly durables: () => readonly Lsn[],
  ) {}

  /** The hold to install on a new session's sinks. */
  get current(): Lsn | null {
    return this.hold?.lsn ?? null;
  }

  async holdAt(point: Lsn | (() => Promise<Lsn>)): Promise<Lsn> {
    if (this.hold) {
      throw new CarveError('SYNC_HOLD_ACTIVE', `Sync is already held at ${formatLsn(this.hold.lsn)}`, {
        details: { lsn: formatLsn(this.hold.lsn) },
        hint: 'Call release() before asking for another hold.',
      });
    }
    // Above every transaction applied anywhere so far (between sessions: every durable position).
    // Computed and installed synchronously, so no sink can pass it in between.
    const sinks = this.sinks();
    const floor = sinks.length
      ? maxLsn(0n, ...sinks.map((s) => s.lastDataCommit + 1n))
      : maxLsn(0n, ...this.durables());
    let lsn: Lsn;
    if (typeof point === 'function') {
      this.install(floor);
      try {
        lsn = await point();
      } catch (error) {
        this.release();
        throw error;
      }
      this.release();
      if (lsn < floor) throw passed(lsn, floor);
    } else {
      lsn = point;
      if (lsn < floor) throw passed(lsn, floor);
    }
    const reached = new Promise<Lsn>((resolve, reject) => this.install(lsn, resolve, reject));
    this.check();
    return reached;
  }

  release(): void {
    const hold = this.hold;
    if (!hold) return;
    this.hold = undefined;
    for (const sink of this.sinks()) {
      sink.holds.removeApi(hold.lsn);
      sink.nudge();
    }
  }

  /** A sink reached (or cannot honour) a hold at `lsn`. */
  report(database: string, lsn: Lsn, outcome: 'reached' | 'failed', error?: string): void {
    const hold = this.hold;
    if (!hold || hold.lsn !== lsn) return;
    if (outcome === 'failed') {
      this.release();
      hold.reject(
        new CarveError('SYNC_HOLD_PASSED', `${database} cannot hold at ${formatLsn(lsn)}: ${error}`, {
          details: { database, lsn: formatLsn(lsn) },
          hint: 'Ask for a later position.',
        }),
      );
      return;
    }
    hold.reached.add(database);
    this.check();
  }

  /** Sync stopped: a pending holdAt() rejects. */
  abort(error: unknown): void {
    this.hold?.reject(error);
    this.hold = undefined;
  }

  private install(
    lsn: Lsn,
    resolve: (lsn: Lsn) => void = () => {},
    reject: (error: unknown) => void = () => {},
  ): void {
    this.hold = { lsn, reached: new Set(), resolve, reject };
    for (const sink of this.sinks()) {
      sink.holds.addApi(lsn);
      sink.nudge();
    }
  }

  private check(): void {
    const hold = this.hold;
    if (hold && this.names().every((d) => hold.reached.has(d))) hold.resolve(hold.lsn);
  }
}

function passed(lsn: Lsn, floor: Lsn): CarveError {
  return new CarveError(
    'SYNC_HOLD_PASSED',
    `Cannot hold at ${formatLsn(lsn)}: targets already applied changes up to ${formatLsn(floor)}`,
    {
      details: { lsn: formatLsn(lsn), applied: formatLsn(floor) },
      hint: 'Ask for a later position, or pass a function to holdAt() so the engine picks the point race-free.',
    },
  );
}
