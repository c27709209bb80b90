import type { Routing } from '../routing/model.js';
import type { CopyEvent } from './events.js';
import type { IndexBuilder } from './post-load.js';

export interface CopyOptions {
  routing: Routing;
  /** Parallel workers (default: the machine's available parallelism, at least 2). */
  jobs?: number;
  /** Continue a copy that stopped (crash, kill -9, failed chunks). */
  resume?: boolean;
  /** Target bytes per chunk (default 128 MiB). */
  chunkBytes?: number;
  /** Builds secondary indexes and intra-database FKs after the load. */
  buildIndexes: IndexBuilder;
  onEvent?: (event: CopyEvent) => void;
  signal?: AbortSignal;
}
