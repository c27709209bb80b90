import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { isCarveError } from '../../src/errors.js';
import { connect, withClient, type Client } from '../../src/pg/connect.js';
import { CopyLog } from '../../src/state/copy-log.js';
import {
  ensureStateSchema,
  STATE_MIGRATIONS,
  STATE_SCHEMA_VERSION,
  stateSchemaVersion,
} from '../../src/state/state-schema.js';
import {
  ensureMonolithSchema,
  MONOLITH_MIGRATIONS,
  MONOLITH_SCHEMA_VERSION,
  monolithSchemaStatements,
  monolithSchemaVersion,
} from '../../src/state/monolith-schema.js';
import { SyncState } from '../../src/sync/state.js';
import { VerifyState } from '../../src/verify/state.js';
import {
  stateTablesDdlBeforeVersions,
  verifyTablesDdlBeforeVersions,
} from '../fixtures/state-schema-before-versions.js';
import { createDatabase, useCluster } from '../support/cluster.js';

/** carve's state schema is versioned; a database left by the release before upgrades in place. */
let pg: LocalCluster;

beforeAll(async () => {
  pg = await useCluster({ name: 'state-schema' });
});

const SCHEMA = 'carve';

/** Rows in every state table, as the previous release wrote them. */
async function storeRows(c: Client, withPatchedColumns: boolean): Promise<void> {
  await c.query(`INSERT INTO carve.migrations (migration, slot, publication, consistent_lsn, copy_finished_at)
                 VALUES ('m', 'carve_m', 'carve_m', '0/16B3748', now())`);
  if (withPatchedColumns)
    await c.query(`UPDATE carve.migrations SET consistent_after = '0/16B4000',
                          sync_error = '{"code":"SYNC_SLOT_LOST","message":"gone"}'`);
  await c.query(`INSERT INTO carve.copy_chunks (migration, route_id, chunk_no, source_schema, source_table, method,
                                                lower_bound, upper_bound, status, rows, bytes)
                 VALUES ('m', 'app_db/public.items', 0, 'public', 'items', 'key', NULL, '100', 'done', 100, 8192),
                        ('m', 'app_db/public.items', 1, 'public', 'items', 'key', '100', NULL, 'pending', NULL, NULL)`);
  await c.query(`INSERT INTO carve.apply_position (migration, lsn) VALUES ('m', '0/16B5000')`);
  await c.query(
    `INSERT INTO carve.holds (migration, hold_lsn, requested_by) VALUES ('m', '0/16B6000', 'verify')`,
  );
  await c.query(
    `INSERT INTO carve.verify_runs (run_id, migration, lsn, ok) VALUES ('run-1', 'm', '0/16B7000', true)`,
  );
  await c.query(`INSERT INTO carve.verify_segments (run_id, route_id, segment_no, status, source_rows, target_rows)
                 VALUES ('run-1', 'app_db/public.items', 0, 'ok', 100, 100)`);
}

const TABLES = ['migrations', 'copy_chunks', 'apply_position', 'holds', 'verify_runs', 'verify_segments'];

async function dump(c: Client): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    out[table] = (
      await c.query(`SELECT to_jsonb(t) AS r FROM carve.${table} AS t ORDER BY 1::text`)
    ).rows.map((r) => r.r);
  }
  return out;
}

/** Columns (name, type, nullability, default) and constraints of every table of the state schema. */
async function shape(c: Client): Promise<unknown> {
  const columns = await c.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, column_name`,
    [SCHEMA],
  );
  const constraints = await c.query(
    `SELECT conrelid::regclass::text AS rel, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1, 2`,
    [SCHEMA],
  );
  return { columns: columns.rows, constraints: constraints.rows };
}

async function versions(c: Client): Promise<number[]> {
  return (await c.query('SELECT version FROM carve.state_schema ORDER BY version')).rows.map(
    (r) => r.version,
  );
}

describe('the versioned state schema', () => {
  it('numbers its migrations 1, 2, 3 … without gaps', () => {
    expect(STATE_MIGRATIONS.map((m) => m.version)).toEqual(STATE_MIGRATIONS.map((_, i) => i + 1));
    expect(STATE_SCHEMA_VERSION).toBe(STATE_MIGRATIONS.length);
  });

  it('upgrades a database provisioned by the previous release in place, keeping every row', async () => {
    const url = await createDatabase(pg, 'previous_release');
    await withClient(url, async (c) => {
      for (const s of [...stateTablesDdlBeforeVersions(SCHEMA), ...verifyTablesDdlBeforeVersions(SCHEMA)])
        await c.query(s);
      await storeRows(c, true);
      const before = await dump(c);
      expect(await stateSchemaVersion(c, SCHEMA)).toBe(0);

      expect(await ensureStateSchema(c, SCHEMA)).toBe(STATE_SCHEMA_VERSION);
      expect(await versions(c)).toEqual(STATE_MIGRATIONS.map((m) => m.version));
      // Every row survives with every value; columns added by later versions come in empty.
      expect(await dump(c)).toMatchObject(before);

      // The code of this release reads what the previous one wrote.
      expect(await new CopyLog(SCHEMA, 'm').readMigration(c)).toMatchObject({
        slot: 'carve_m',
        consistentAfter: '0/16B4000',
      });
      expect(await new SyncState(SCHEMA, 'm').readMigration(c)).toMatchObject({ copyFinished: true });
      expect(await new CopyLog(SCHEMA, 'm').chunks(c)).toHaveLength(2);
      expect((await new SyncState(SCHEMA, 'm').readPosition(c)).lsn).toBe(0x16b5000n);
      expect(await new SyncState(SCHEMA, 'm').readSyncError(c)).toMatchObject({ code: 'SYNC_SLOT_LOST' });
      expect(await new VerifyState(SCHEMA, 'm').segments(c, 'run-1', 'app_db/public.items')).toHaveLength(1);

      // Again: nothing to do, nothing changes.
      const upgraded = await dump(c);
      expect(await ensureStateSchema(c, SCHEMA)).toBe(STATE_SCHEMA_VERSION);
      expect(await versions(c)).toEqual(STATE_MIGRATIONS.map((m) => m.version));
      expect(await dump(c)).toEqual(upgraded);
    });
  });

  it('upgrades the older shape without the patched columns, and ends exactly like a new database', async () => {
    const older = await createDatabase(pg, 'older_release');
    const fresh = await createDatabase(pg, 'fresh');
    await withClient(older, async (c) => {
      // The release before the ADD COLUMN patches, and before verify had tables.
      for (const s of stateTablesDdlBeforeVersions(SCHEMA).filter((s) => !s.startsWith('ALTER TABLE')))
        await c.query(s);
      await c.query(`INSERT INTO carve.migrations (migration, slot, publication, consistent_lsn)
                     VALUES ('m', 'carve_m', 'carve_m', '0/16B3748')`);
      await ensureStateSchema(c, SCHEMA);
      expect(
        (await c.query('SELECT migration, consistent_after, sync_error FROM carve.migrations')).rows,
      ).toEqual([{ migration: 'm', consistent_after: null, sync_error: null }]);
    });
    const [upgraded, created] = await Promise.all([
      withClient(older, (c) => shape(c)),
      withClient(fresh, async (c) => {
        await ensureStateSchema(c, SCHEMA);
        return shape(c);
      }),
    ]);
    expect(upgraded).toEqual(created);
    const previous = await withClient(pg.url('previous_release'), (c) => shape(c));
    expect(previous).toEqual(created);
  });

  it('is created once when several processes start on a new database at the same time', async () => {
    const url = await createDatabase(pg, 'concurrent');
    const clients = await Promise.all(Array.from({ length: 4 }, () => connect(url)));
    try {
      const results = await Promise.all(clients.map((c) => ensureStateSchema(c, SCHEMA)));
      expect(results).toEqual(clients.map(() => STATE_SCHEMA_VERSION));
      expect(await versions(clients[0]!)).toEqual(STATE_MIGRATIONS.map((m) => m.version));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('refuses a state schema a newer carve has upgraded', async () => {
    const url = await createDatabase(pg, 'newer');
    await withClient(url, async (c) => {
      await ensureStateSchema(c, SCHEMA);
      await c.query(`INSERT INTO carve.state_schema (version, description) VALUES (999, 'from the future')`);
      const error = await ensureStateSchema(c, SCHEMA).catch((e: unknown) => e);
      expect(isCarveError(error, 'STATE_SCHEMA_TOO_NEW')).toBe(true);
      expect(error).toMatchObject({ details: { version: 999, known: STATE_SCHEMA_VERSION } });
    });
  });

  it("carve's schema on the monolith runs through the same migrations: dry-run statements are what runs", async () => {
    const url = await createDatabase(pg, 'monolith_side');
    await withClient(url, async (c) => {
      expect(await monolithSchemaVersion(c, 'carve_m')).toBe(0);
      const planned = monolithSchemaStatements('carve_m', 0);
      expect(planned[0]).toBe('CREATE SCHEMA "carve_m"');
      expect(await ensureMonolithSchema(c, 'carve_m')).toBe(MONOLITH_SCHEMA_VERSION);
      expect(await ensureMonolithSchema(c, 'carve_m')).toBe(MONOLITH_SCHEMA_VERSION);
      const applied = await c.query('SELECT version FROM carve_m.monolith_schema ORDER BY version');
      expect(applied.rows.map((r) => r.version)).toEqual(MONOLITH_MIGRATIONS.map((m) => m.version));
      // The dry-run statements build the same schema in a second database.
      const again = await createDatabase(pg, 'monolith_side_dry');
      await withClient(again, async (d) => {
        for (const statement of planned) await d.query(statement);
        const tables = (x: Client) =>
          x.query(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = 'carve_m' ORDER BY 1`,
          );
        expect((await tables(d)).rows).toEqual((await tables(c)).rows);
      });
      await c.query(
        `INSERT INTO carve_m.monolith_schema (version, description) VALUES (999, 'from the future')`,
      );
      const error = await ensureMonolithSchema(c, 'carve_m').catch((e: unknown) => e);
      expect(isCarveError(error, 'STATE_SCHEMA_TOO_NEW')).toBe(true);
      expect((error as Error).message).toContain('on the monolith');
    });
  });
});
