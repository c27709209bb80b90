import { CarveError, errorText } from '../errors.js';

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
} as const;

export function reportAndExit(error: unknown): never {
  if (error instanceof CarveError) {
    process.stderr.write(`carve: ${error.code}: ${error.describe()}\n`);
    process.exit(error.code === 'PLAN_INVALID' || error.code === 'USAGE' ? ExitCode.usage : ExitCode.failed);
  }
  process.stderr.write(`carve: unexpected error: ${errorText(error)}\n`);
  if (error instanceof Error && error.stack && process.env.CARVE_DEBUG)
    process.stderr.write(`${error.stack}\n`);
  process.exit(ExitCode.failed);
}
