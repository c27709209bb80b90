/** Options, events and report of `seedMonolith`. */

export interface SeedOptions {
  /** The monolith database; it must exist. */
  url: string;
  /** 1 = the reference volume (38M rows); 0.001 runs in seconds. */
  scale: number;
  /** Same seed, same data. Default 1. */
  seed?: number;
  /** Create the schema first (default). With false, the CareSync tables must exist and be empty. */
  createSchema?: boolean;
  /** Connections generating tables side by side (each table by one of them). Default 2. */
  connections?: number;
  onEvent?: (event: SeedEvent) => void;
  /** Stops between slices; the database is then half-seeded (start again in a new database). */
  signal?: AbortSignal;
}

export interface SeedTableReport {
  table: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

export type SeedPhase = 'schema' | 'load' | 'indexes' | 'foreign-keys' | 'sequences' | 'analyze';

export interface SeedReport {
  scale: number;
  seed: number;
  connections: number;
  tables: SeedTableReport[];
  totalRows: number;
  /** Wall time of the whole run, schema to ANALYZE. */
  seconds: number;
  /** totalRows / seconds. */
  rowsPerSecond: number;
  /** Wall time per phase. */
  phases: Partial<Record<SeedPhase, number>>;
  /** pg_database_size after ANALYZE. */
  databaseBytes: number;
}

export type SeedEvent =
  | { type: 'schema'; tables: number; partitions: number }
  | { type: 'table-start'; table: string; total: number }
  | {
      type: 'progress';
      table: string;
      done: number;
      total: number;
      overallDone: number;
      overallTotal: number;
    }
  | ({ type: 'table-done' } & SeedTableReport)
  | { type: 'phase'; phase: SeedPhase }
  | { type: 'done'; report: SeedReport };
