import { CarveError } from '../../errors.js';
import type { Client } from '../../pg/connect.js';
import type { SeedEvent, SeedTableReport } from './seed-types.js';
import { DEFAULT_SLICE, insertSql, type TableSeed } from './table-seed.js';
import { totalRows, type Volumes } from './volumes.js';
import { connectionLostStates, isTransientError, SqlState, sqlStateOf } from '../../pg/sqlstate.js';

/**
 * Generate every table, each by one connection in slices, tables spread over the connections
 * heaviest first. Foreign keys are off during the load, so tables need not wait for each other;
 * one table is always written by one connection in row order, so its heap is the same every run.
 */
export async function insertTables(
  clients: readonly Client[],
  seeds: readonly TableSeed[],
  volumes: Volumes,
  emit: (event: SeedEvent) => void,
  signal: AbortSignal | undefined,
): Promise<SeedTableReport[]> {
  const weight = (s: TableSeed) => volumes[s.table]! * (DEFAULT_SLICE / (s.slice ?? DEFAULT_SLICE));
  const queue = [...seeds].sort((a, b) => weight(b) - weight(a));
  const progress = { overallDone: 0, overallTotal: totalRows(volumes) };
  const reports = new Map<string, SeedTableReport>();
  let failed = false;
  const worker = async (client: Client) => {
    for (let spec = queue.shift(); spec && !failed; spec = queue.shift()) {
      try {
        reports.set(
          spec.table,
          await insertTable(client, spec, volumes[spec.table]!, progress, emit, signal),
        );
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(clients.map(worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return seeds.map((s) => reports.get(s.table)!);
}

async function insertTable(
  client: Client,
  spec: TableSeed,
  total: number,
  progress: { overallDone: number; overallTotal: number },
  emit: (event: SeedEvent) => void,
  signal: AbortSignal | undefined,
): Promise<SeedTableReport> {
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
          details: { table: spec.table, from: lo, to: hi, sqlstate: sqlStateOf(cause) },
          hint: seedFailedHint(cause),
          cause,
        },
      );
    });
    done += result.rowCount ?? 0;
    progress.overallDone += result.rowCount ?? 0;
    emit({ type: 'progress', table: spec.table, done, total, ...progress });
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
  emit({ type: 'table-done', ...report });
  return report;
}

/** A session the server ended or cancelled is not the generator's fault: say so. */
function seedFailedHint(cause: unknown): string {
  const state = sqlStateOf(cause);
  const again = 'the database is partly seeded: drop it, create it again and seed it again.';
  if (
    (state !== undefined && (connectionLostStates.has(state) || state === SqlState.queryCanceled)) ||
    (state === undefined && isTransientError(cause))
  )
    return `The server ended or cancelled the seed's session (a restart, pg_terminate_backend or pg_cancel_backend, a statement_timeout); ${again}`;
  return `Check free disk space; otherwise this is a bug in the generator. In both cases ${again}`;
}
