import { CarveError } from '../../errors.js';
import { atMonolith, type Client, connect } from '../../pg/connect.js';
import { quoteIdent, quoteQualified } from '../../pg/quote.js';
import { CARESYNC_SCHEMA, CARESYNC_TABLES } from '../caresync-tables.js';
import { createMonolithSchema } from '../create-monolith-schema.js';
import { assertEmptyMonolith } from './assert-empty.js';
import {
  dropForLoad,
  inParallel,
  restoreAfterLoad,
  type DeferredConstraints,
} from './deferred-constraints.js';
import { insertTables } from './insert-tables.js';
import { resolveScratch, scratchFunctionsDdl, SCRATCH_SCHEMA } from './scratch-functions.js';
import { seedsInLoadOrder } from './seed-order.js';
import type { SeedOptions, SeedPhase, SeedReport } from './seed-types.js';
import { advanceSequences } from './sequences.js';
import { seedVolumes } from './volumes.js';

export type { SeedEvent, SeedOptions, SeedPhase, SeedReport, SeedTableReport } from './seed-types.js';

/**
 * Fill a database with the CareSync monolith. Every table is generated server-side by set-based
 * INSERT … SELECT over generate_series, in slices, from scratch SQL functions of (seed, table,
 * row number): the same seed gives the same rows, and every foreign key is valid by construction.
 * Foreign keys and secondary indexes are set aside during the load and recreated (validated)
 * after it; sequences end past the generated keys; everything is ANALYZEd. The scratch schema is
 * dropped whether the run succeeds or not.
 */
export async function seedMonolith(options: SeedOptions): Promise<SeedReport> {
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) {
    throw new CarveError('DEMO_BAD_SEED', `Seed ${seed} is not an integer`, {
      details: { seed },
      hint: 'Pass an integer seed, e.g. --seed 42.',
    });
  }
  const connections = Math.max(1, Math.floor(options.connections ?? 2));
  const volumes = seedVolumes(options.scale);
  const emit = options.onEvent ?? (() => {});
  const started = performance.now();
  const phases: Partial<Record<SeedPhase, number>> = {};
  const phase = (name: SeedPhase) => {
    emit({ type: 'phase', phase: name });
    const now = performance.now();
    return () => {
      phases[name] = (performance.now() - now) / 1000;
    };
  };

  const clients: Client[] = [];
  try {
    for (let i = 0; i < connections; i++) clients.push(await connectToMonolith(options.url));
    const main = clients[0]!;
    let end = phase('schema');
    if (options.createSchema ?? true) {
      const created = await createMonolithSchema(main);
      emit({ type: 'schema', tables: created.tables, partitions: created.partitions });
    } else {
      await assertEmptyMonolith(main);
    }
    end();
    for (const client of clients) {
      // A commit need not wait for the disk (a half-seeded database is thrown away anyway); JIT
      // would compile these long expressions again for every slice, for no gain.
      await client.query(
        `SELECT set_config('synchronous_commit', 'off', false), set_config('jit', 'off', false),
                set_config('maintenance_work_mem', '256MB', false)`,
      );
      // Long notes compress 4–6 times faster with lz4 than with pglz; servers built without lz4
      // refuse the setting and keep pglz.
      await client.query(`SET default_toast_compression = lz4`).catch(() => {});
    }
    const names = CARESYNC_TABLES.map((t) => t.name);
    await main.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCRATCH_SCHEMA)} CASCADE`);
    let deferred: DeferredConstraints | undefined = await dropForLoad(main, CARESYNC_SCHEMA, names);
    try {
      for (const sql of scratchFunctionsDdl(seed, volumes)) await main.query(resolveScratch(sql));
      end = phase('load');
      const tables = await insertTables(clients, seedsInLoadOrder(), volumes, emit, options.signal);
      end();
      end = phase('indexes');
      await restoreAfterLoad(clients, deferred, () => {
        end();
        end = phase('foreign-keys');
      });
      end();
      deferred = undefined;
      end = phase('sequences');
      await advanceSequences(main, CARESYNC_SCHEMA, names);
      await main.query(`DROP SCHEMA ${quoteIdent(SCRATCH_SCHEMA)} CASCADE`);
      end();
      end = phase('analyze');
      await inParallel(clients, names, (client, name) =>
        client.query(`ANALYZE ${quoteQualified(CARESYNC_SCHEMA, name)}`),
      );
      end();
      const size = await main.query<{ bytes: string }>(
        `SELECT pg_database_size(current_database())::text AS bytes`,
      );
      const seconds = (performance.now() - started) / 1000;
      const rows = tables.reduce((sum, t) => sum + t.rows, 0);
      const report: SeedReport = {
        scale: options.scale,
        seed,
        connections,
        tables,
        totalRows: rows,
        seconds,
        rowsPerSecond: rows / seconds,
        phases,
        databaseBytes: Number(size.rows[0]!.bytes),
      };
      emit({ type: 'done', report });
      return report;
    } finally {
      await main.query(`DROP SCHEMA IF EXISTS ${quoteIdent(SCRATCH_SCHEMA)} CASCADE`).catch(() => {});
      // A failed or stopped run still gets its keys and indexes back (the rows so far are valid).
      if (deferred) await restoreAfterLoad([main], deferred).catch(() => {});
    }
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

async function connectToMonolith(url: string): Promise<Client> {
  return connect(atMonolith(url), { applicationName: 'carve demo seed' });
}
