import type { Routing } from '../routing/model.js';
import type { SinkFactory } from '../sync/sink.js';
import type { CopyEvent } from './events.js';
import type { IndexBuilder } from './post-load.js';
import type { SnapshotEvents } from './snapshot-events.js';

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
  /** Publish a snapshot read (`op: r`) of every row loaded of a published table (plan `events.snapshot`). */
  snapshotEvents?: SnapshotEvents;
  /**
   * Sinks beside the appliers while a resumed copy streams its databases past the later snapshot
   * (later-snapshot.ts): with snapshot reads, the Kafka sink, so that the changes between the
   * consistent point and the later snapshot are published too (the slot passes them then).
   */
  catchUpSinks?: SinkFactory[];
  onEvent?: (event: CopyEvent) => void;
  signal?: AbortSignal;
}
