import type { Routing } from '../routing/model.js';
import type { SinkFactory } from '../sync/sink.js';
import type { CutoverEvent } from './events.js';

interface CommonOptions {
  routing: Routing;
  service: string;
  /** Print the steps and their SQL; connect only to read. */
  dryRun?: boolean;
  onEvent?: (event: CutoverEvent) => void;
  /**
   * Tests only: stop (wait forever) at the start of this step, after its step-started event, so a
   * test can kill the process there (the CLI reads CARVE_TEST_PAUSE_AT).
   */
  pauseAt?: string;
  applicationName?: string;
}

export interface CutoverOptions extends CommonOptions {
  /** Refuse when the service database lags the monolith by more than this (default 5 s). */
  maxLagSeconds?: number;
  /** Freeze locks and drain must succeed within this (default 30 s); on timeout the freeze is undone. */
  timeoutMs?: number;
  /** Every service sequence goes to at least the monolith's value plus this (default 1000). */
  sequenceGap?: number;
  /** Run after the switch (sh -c) with CARVE_SERVICE, CARVE_DATABASE, CARVE_DRAIN_LSN … in its environment. */
  onSwitch?: string;
  /** Verify jobs (default 2). */
  jobs?: number;
  /**
   * How long to wait for the migration lock before concluding that a `carve sync` holds it and
   * following that one (default 3000 ms: a process killed a moment ago may still hold it). A
   * caller that runs the sync engine itself (the demo) passes 0.
   */
  lockWaitMs?: number;
  /**
   * Sinks besides the service databases for the forward stream cutover runs when no carve sync
   * does: the plan's event publishers (the CLI passes `eventSinks(routing)`), so that stream does
   * not acknowledge the slot past changes they never saw (EVENTS_BEHIND_SLOT on their next start).
   */
  sinks?: SinkFactory[];
}

export interface RollbackOptions extends CommonOptions {
  timeoutMs?: number;
  sequenceGap?: number;
  jobs?: number;
}

export interface CompleteOptions {
  routing: Routing;
  service: string;
  renameSourceTables?: boolean;
  onEvent?: (event: CutoverEvent) => void;
}

export interface CancelOptions {
  routing: Routing;
  /** Also drop the service databases (with the admin URL). */
  dropDatabases?: boolean;
  onEvent?: (event: CutoverEvent) => void;
}

export const DEFAULTS = {
  maxLagSeconds: 5,
  timeoutMs: 30_000,
  sequenceGap: 1000,
  jobs: 2,
} as const;
