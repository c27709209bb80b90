import type { Catalog } from '../catalog/model.js';
import type { Routing } from '../routing/model.js';
import type { ResyncEvent } from './events.js';

export interface ResyncOptions {
  /** Built from the monolith's current catalog (prepareRouting): the table's shape now. */
  routing: Routing;
  catalog: Catalog;
  /** `schema.table` or `table` (public, or the only schema that has it), as on the monolith. */
  table: string;
  /** Only say what would be done (statements per database); write nothing. */
  dryRun?: boolean;
  /** Rows per copied chunk (each merged in one short target transaction). */
  chunkRows?: number;
  /**
   * How long the snapshot may wait for transactions open on the monolith before it (a new slot
   * waits for each to end) before resync gives up with RESYNC_SNAPSHOT_TIMEOUT, naming them.
   * Sync's appliers wait meanwhile (resync holds their `holds` tables). Default 5 minutes.
   */
  timeoutMs?: number;
  /** How long to wait for sync's appliers between batches before trying the registration again. */
  lockTimeoutMs?: number;
  onEvent?: (event: ResyncEvent) => void;
}
