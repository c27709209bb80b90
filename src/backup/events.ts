/** What `carve backup` reports while it runs and when it is done. */
export interface BackupTable {
  schema: string;
  name: string;
  /** Rows at the backup's snapshot (a partitioned table: all its partitions). */
  rows: number;
  /** A partition dumped for its parent's rows (not counted separately in the totals). */
  partitionOf?: { schema: string; name: string };
}

export interface BackupManifest {
  format: 'carve-backup/1';
  migration: string;
  /** The monolith's LSN the dump corresponds to: it holds every transaction committed before it, none after. */
  lsn: string;
  /** How the LSN was tied to the snapshot. */
  snapshotMethod: 'temporary logical slot (exported snapshot)';
  takenAt: string;
  finishedAt: string;
  carveVersion: string;
  pgDumpVersion: string;
  serverVersion: string;
  /** Monolith database name (no host, user or password). */
  database: string;
  /** pg_dump -Fd directory, relative to the backup directory. */
  dump: string;
  /** Schema-only dump of the whole monolith at the same snapshot (types, functions the tables use). */
  schema: string;
  /** Tables left out of the schema file: carve's monolith user may not read them (none of them moves). */
  schemaExcluded: { schema: string; name: string }[];
  jobs: number;
  tables: BackupTable[];
  /** Entries `pg_restore --list` found in the dump. */
  tocEntries: number;
}

export type BackupEvent =
  | { type: 'backup-snapshot'; lsn: string }
  | { type: 'backup-dumped'; seconds: number }
  | { type: 'backup-checked'; tocEntries: number }
  | { type: 'backup-recorded'; databases: string[] };

export interface BackupResult {
  dir: string;
  manifestFile: string;
  manifest: BackupManifest;
  seconds: number;
  /** Service databases whose state now names this backup. */
  recordedIn: string[];
}

/** A backup as the service databases' state records it. */
export interface BackupRecord {
  path: string;
  lsn: string;
  takenAt: string;
  tables: number;
  rows: number;
}
