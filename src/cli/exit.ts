import type { ExitCategory } from '../error-catalogue.js';

/** Exit codes; the only place they are defined. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  /** The work stopped before the end and can be resumed (`--resume`, or run the command again). */
  incomplete: 3,
  /** verify found differences or orphans. */
  mismatch: 4,
  /** status: the migration needs the operator now (its slot is lost, or about to lose WAL). */
  attention: 5,
} as const satisfies Record<ExitCategory | 'ok' | 'attention', number>;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
