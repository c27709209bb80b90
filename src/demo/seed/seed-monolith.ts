import { CarveError } from '../../errors.js';
import { connect, type Client } from '../../pg/connect.js';
import { quoteIdent, quoteQualified } from '../../pg/quote.js';
import { CARESYNC_SCHEMA, CARESYNC_TABLES } from '../caresync-tables.js';
import { createMonolithSchema } from '../create-monolith-schema.js';
import { resolveScratch, scratchFunctionsDdl, SCRATCH_SCHEMA } from './scratch-functions.js';
import { seedsInLoadOrder } from './seed-order.js';
import { DEFAULT_SLICE, insertSql } from './table-seed.js';
import { seedVolumes, totalRows } from './volumes.js';
import { advanceSequences } from './sequences.js';

export interface SeedOptions {
  /** The monolith database; it must exist. */
  url: string;
  /** 1 = the reference volume (10M+ rows); 0.001 runs in seconds. */
  scale: number;
  /** Same seed, same bytes. Default 1. */
  seed?: number;
  /** Create the schema first (default). With false, the CareSync tables must exist and be empty. */
  createSchema?: boolean;
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

export interface SeedReport {
  scale: number;
  seed: number;
  tables: SeedTableReport[];
  totalRows: number;
  /** Wall time of the whole run, schema to ANALYZE. */
  seconds: number;
  rowsPerSecond: number;
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
  | { type: 'finishing'; step: 'sequences' | 'analyze' }
  | { type: 'done'; report: SeedReport };

/**
 * Fill a database with the CareSync monolith: every table generated server-side by set-based
 * INSERT … SELECT, table by table in foreign-key order, large tables in slices. Deterministic for
 * a seed; every foreign key valid; sequences past the generated keys; ANALYZEd at the end. The
 * scratch functions are dropped whether the run succeeds or not.
 */
export async function seedMonolith(options: SeedOptions): Promise<SeedReport> {
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) {
    throw new CarveError('DEMO_BAD_SEED', `Seed ${seed} is not an integer`, {
      details: { seed },
      hint: 'Pass an integer seed, e.g. --seed 42.',
    });
  }
  const volumes = seedVolumes(options.scale);
  const emit = options.onEvent ?? (() => {});
  const started = performance.now();
  const client = await connectToMonolith(options.url);
  try {
    if (options.createSchema ?? true) {
      const created = await createMonolithSchema(client);
      emit({ type: 'schema', tables: created.tables, partitions: created.partitions });
    } else {
      await assertEmpty(client);
    }
    // A commit need not wait for the disk: a half-seeded database is thrown away anyway. JIT
    // would compile these long expressions again for every slice, for no gain.
    await client.query(
      `SELECT set_config('synchronous_commit', 'off', false), set_config('jit', 'off', false)`,
    );
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCRATCH_SCHEMA)} CASCADE`);
    try {
      for (const sql of scratchFunctionsDdl(seed, volumes)) await client.query(resolveScratch(sql));
      const tables = await insertAll(client, volumes, emit, options.signal);
      emit({ type: 'finishing', step: 'sequences' });
      await advanceSequences(
        client,
        CARESYNC_SCHEMA,
        CARESYNC_TABLES.map((t) => t.name),
      );
      await client.query(`DROP SCHEMA ${quoteIdent(SCRATCH_SCHEMA)} CASCADE`);
      emit({ type: 'finishing', step: 'analyze' });
      for (const t of CARESYNC_TABLES)
        await client.query(`ANALYZE ${quoteQualified(CARESYNC_SCHEMA, t.name)}`);
      const size = await client.query<{ bytes: string }>(
        `SELECT pg_database_size(current_database())::text AS bytes`,
      );
      const seconds = (performance.now() - started) / 1000;
      const rows = tables.reduce((sum, t) => sum + t.rows, 0);
      const report: SeedReport = {
        scale: options.scale,
        seed,
        tables,
        totalRows: rows,
        seconds,
        rowsPerSecond: rows / seconds,
        databaseBytes: Number(size.rows[0]!.bytes),
      };
      emit({ type: 'done', report });
      return report;
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCRATCH_SCHEMA)} CASCADE`).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function insertAll(
  client: Client,
  volumes: Readonly<Record<string, number>>,
  emit: (event: SeedEvent) => void,
  signal: AbortSignal | undefined,
): Promise<SeedTableReport[]> {
  const overallTotal = totalRows(volumes);
  let overallDone = 0;
  const reports: SeedTableReport[] = [];
  for (const spec of seedsInLoadOrder()) {
    const total = volumes[spec.table]!;
    const slice = spec.slice ?? DEFAULT_SLICE;
    const sql = insertSql(spec);
    const started = performance.now();
    emit({ type: 'table-start', table: spec.table, total });
    let done = 0;
    for (let lo = 1; lo <= total; lo += slice) {
      if (signal?.aborted) {
        throw new CarveError('DEMO_SEED_ABORTED', `Seeding stopped during ${spec.table}`, {
          details: { table: spec.table, done, total },
          hint: 'The database is partly seeded: drop it and seed a new one.',
        });
      }
      const hi = Math.min(total, lo + slice - 1);
      const result = await client.query(sql, [lo, hi]).catch((cause: unknown) => {
        throw new CarveError(
          'DEMO_SEED_FAILED',
          `Generating ${spec.table} rows ${lo}–${hi} failed: ${String(cause)}`,
          {
            details: { table: spec.table, from: lo, to: hi },
            hint: 'This is a bug in the generator (or the database ran out of space); drop the database and retry.',
            cause,
          },
        );
      });
      done += result.rowCount ?? 0;
      overallDone += result.rowCount ?? 0;
      emit({ type: 'progress', table: spec.table, done, total, overallDone, overallTotal });
    }
    if (done !== total) {
      throw new CarveError(
        'DEMO_SEED_COUNT_MISMATCH',
        `Generated ${done} rows for ${spec.table}, expected ${total}`,
        {
          details: { table: spec.table, rows: done, expected: total },
        },
      );
    }
    const seconds = (performance.now() - started) / 1000;
    const report = {
      table: spec.table,
      rows: done,
      seconds,
      rowsPerSecond: seconds > 0 ? done / seconds : done,
    };
    reports.push(report);
    emit({ type: 'table-done', ...report });
  }
  return reports;
}

async function connectToMonolith(url: string): Promise<Client> {
  try {
    return await connect(url, { applicationName: 'carve demo seed' });
  } catch (cause) {
    throw new CarveError('DEMO_CONNECT_FAILED', `Cannot connect to the monolith: ${String(cause)}`, {
      details: { sqlstate: (cause as { code?: string }).code },
      hint: 'Check --source; the database must exist (createdb it first).',
      cause,
    });
  }
}

async function assertEmpty(client: Client): Promise<void> {
  const names = CARESYNC_TABLES.map((t) => t.name);
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relname = ANY($2::text[])`,
    [CARESYNC_SCHEMA, names],
  );
  const present = new Set(rows.map((r) => r.relname));
  const missing = names.filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new CarveError(
      'DEMO_SCHEMA_MISSING',
      `CareSync tables are missing: ${missing.slice(0, 5).join(', ')}`,
      {
        details: { tables: missing },
        hint: 'Seed without createSchema: false, which creates the schema first.',
      },
    );
  }
  const nonEmpty: string[] = [];
  for (const name of names) {
    const r = await client.query(`SELECT 1 FROM ${quoteQualified(CARESYNC_SCHEMA, name)} LIMIT 1`);
    if (r.rowCount) nonEmpty.push(name);
  }
  if (nonEmpty.length > 0) {
    throw new CarveError(
      'DEMO_SCHEMA_NOT_EMPTY',
      `CareSync tables already hold rows: ${nonEmpty.slice(0, 5).join(', ')}`,
      {
        details: { tables: nonEmpty },
        hint: 'Seed into a new, empty database.',
      },
    );
  }
}
