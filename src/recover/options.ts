import type { Routing } from '../routing/model.js';
import type { RecoverEvent } from './events.js';

export interface RecoverOptions {
  routing: Routing;
  /** The service whose owned rows are copied back into the monolith. */
  service: string;
  /** Do everything in the monolith transaction, report the counts, then roll it back. */
  dryRun?: boolean;
  /**
   * Run the verify engine on the service's tables after the commit (default true). It reads both
   * sides as they are (assume-static): with the service still taking writes it can report rows
   * written after the recover; the in-transaction check is the guarantee.
   */
  verify?: boolean;
  /** How long to wait for the reverse replication origin to be free (default 2 s). */
  originWaitMs?: number;
  onEvent?: (event: RecoverEvent) => void;
  applicationName?: string;
}
