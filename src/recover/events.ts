import type { VerifyResult } from '../verify/events.js';

export interface RecoverTableResult {
  /** Service table `schema.name`. */
  serviceTable: string;
  /** Monolith table `schema.name`. */
  monolithTable: string;
  /** Rows the service holds (read at one snapshot). */
  rows: number;
  inserted: number;
  updated: number;
  deleted: number;
}

export type RecoverEvent =
  | { type: 'recover-started'; service: string; database: string; origin: string; dryRun: boolean }
  /** The registered reverse stream had lost its slot: set up again before the service is read. */
  | { type: 'recover-reverse-restarted'; slot: string; startLsn: string }
  | ({ type: 'recover-table' } & RecoverTableResult)
  | { type: 'recover-committed'; seconds: number }
  | { type: 'recover-rolled-back'; reason: 'dry-run' }
  | { type: 'recover-sequences'; moved: { sequence: string; value: string }[] }
  | { type: 'recover-verified'; ok: boolean };

export interface RecoverResult {
  service: string;
  database: string;
  origin: string;
  dryRun: boolean;
  tables: RecoverTableResult[];
  totals: { rows: number; inserted: number; updated: number; deleted: number };
  /**
   * The reverse stream set up again (a new slot, from before the rows were read) because its slot
   * was gone; null when it had its slot, or the service has none (or in a dry run).
   */
  reverseRestarted: { slot: string; startLsn: string } | null;
  /** Monolith sequences moved past the largest recovered value (not in a dry run). */
  sequences: { sequence: string; value: string }[];
  /** The verify engine's result on the service's tables, when it ran. */
  verify: VerifyResult | null;
  /** Why the verify after the commit could not run (the recover itself succeeded). */
  verifyError: { code: string; message: string; hint: string | null } | null;
  seconds: number;
}
