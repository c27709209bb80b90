/**
 * Where the copy publishes snapshot reads (`op: r`) of the rows it loads (plan `events.snapshot`).
 * The copy only defines the seam; src/events implements it on Kafka (structurally: events does not
 * import copy) and the CLI wires it in, as sync takes its sinks.
 *
 * The contract that makes the reads exactly-once across kill -9: a chunk's reads become visible
 * all at once or not at all (`commit`), together with the record that the chunk is published;
 * `open` learns which chunks are; the copy commits a chunk's reads before the target transactions
 * that mark it loaded, and re-reads a chunk that is loaded but not published for publishing only.
 */
export interface SnapshotEvents {
  /** Whether the rows of this (owner) route are published. */
  publishes(routeId: string): boolean;
  /**
   * Before the workers start: fence every earlier incarnation (its open transactions are aborted)
   * and read which chunks are published already.
   */
  open(workers: number): Promise<void>;
  /**
   * The copy's consistent point (the same for every resume of one copy): only chunks published for
   * it count as published — a migration started over with the same name starts a new snapshot.
   */
  start(consistentLsn: string): void;
  /** Whether the chunk's reads are committed already (by this run or an earlier one). */
  published(routeId: string, chunkNo: number): boolean;
  /** Begin the chunk's publication on the worker's own transactional producer. */
  begin(worker: number, chunk: SnapshotChunkRef): Promise<SnapshotChunk>;
  /** Reads published by this run. */
  readonly readsPublished: number;
  close(): Promise<void>;
}

export interface SnapshotChunkRef {
  routeId: string;
  chunkNo: number;
  /** The LSN the snapshot the chunk is read under stands for (`source.lsn`). */
  lsn: string;
  /** Source column names of the rows `row` is given, in order. */
  columns: readonly string[];
}

export interface SnapshotChunk {
  /** One row as PostgreSQL prints it (COPY text values). Await the result: it is the backpressure. */
  row(values: readonly (string | null)[]): Promise<void> | undefined;
  /** Publish the chunk's reads and its completion record in one Kafka transaction. */
  commit(): Promise<number>;
  abort(): Promise<void>;
}
