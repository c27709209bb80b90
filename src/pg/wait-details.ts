/*
 * The shape of a timed-out wait's details, apart from the queries that fill it (wait-blockers.ts):
 * the error catalogue, which the public API exports, names it without reaching `pg`.
 */

/**
 * Who a carve wait is waiting for, so that a timeout can name it: a session an operator can find
 * (its pid) and end. Read from pg_stat_activity when a wait ran out, never on the normal path.
 */
export interface WaitBlocker {
  pid: number;
  database: string | null;
  user: string | null;
  application: string | null;
  state: string | null;
  /** How long its transaction has been open (seconds), if it is in one. */
  transactionSeconds: number | null;
}

/** The blockers of a timed-out wait, what to do about them, and the sessions themselves. */
export interface WaitDetails {
  timeoutMs: number;
  /** What ends the wait, as an imperative ("End … (pid 123 …): …"); hints add what to run next. */
  action: string;
  blockers: WaitBlocker[];
}
