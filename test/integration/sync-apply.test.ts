import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import type { SyncEvent } from '../../src/sync/events.js';
import { readSyncStatus } from '../../src/sync/status.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

const HOSTILE = 'x"; drop table y; --';
const Q_HOSTILE = `"${HOSTILE.replaceAll('"', '""')}"`;

const MONOLITH = `
  CREATE TYPE mood AS ENUM ('calm', 'loud');
  CREATE TABLE patients (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    mood mood,
    notes text,
    doc jsonb,
    counter int NOT NULL DEFAULT 0,
    born date,
    seen_at timestamptz,
    tags text[],
    name_upper text GENERATED ALWAYS AS (upper(name)) STORED
  );
  CREATE TABLE "Visit Log" (visit_id bigint, site int, reason text, counter int NOT NULL DEFAULT 0, PRIMARY KEY (visit_id, site));
  CREATE TABLE ledger (id int PRIMARY KEY, amount numeric(12,2), memo text);
  ALTER TABLE ledger REPLICA IDENTITY FULL;
  CREATE TABLE logins (id int PRIMARY KEY, email text NOT NULL UNIQUE);
  INSERT INTO logins VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');
  CREATE TABLE ${Q_HOSTILE} (id int PRIMARY KEY, "weird col"" --" text);
  INSERT INTO patients (id, name, mood, notes, counter, born, seen_at, tags)
    SELECT g, 'p' || g, 'calm', 'n' || g, 0, date '1980-01-01' + g, timestamptz '2024-01-01 10:00:00.123456+00' + g * interval '1 minute', ARRAY['a', 'b"c']
      FROM generate_series(1, 200) g;
  INSERT INTO "Visit Log" SELECT g, g % 3, 'r' || g FROM generate_series(1, 100) g;
  INSERT INTO ledger SELECT g, g * 1.5, 'm' || g FROM generate_series(1, 50) g;
  INSERT INTO ${Q_HOSTILE} SELECT g, 'w' || g FROM generate_series(1, 20) g;
`;

const PLAN = `
services:
  patient:
    database: patient_db
    tables:
      patients:
      ledger:
        columns:
          amt: amount
  clinical:
    database: clinical_db
    tables:
      Visit Log:
      '${HOSTILE}':
      logins:
projections:
  - from: patients
    to: clinical.patient_names
    columns: [id, name, mood]
  - from: ledger
    to: clinical.ledger_memos
    columns: [id, memo]
`;

let m: Migration;
let engine: SyncEngine;
const events: SyncEvent[] = [];

async function monolith(sql: string, values: unknown[] = []): Promise<void> {
  await withClient(m.sourceUrl, (c) => c.query(sql, values));
}

async function target(database: string, sql: string): Promise<Record<string, unknown>[]> {
  const url = m.routing.services.find((s) => s.database === database)!.url;
  return withClient(url, async (c) => (await c.query(sql)).rows);
}

async function caughtUpAndEqual(): Promise<void> {
  await engine.waitForCatchUp();
  expect(await mismatchedRoutes(m.routing)).toEqual([]);
}

/** ~300 kB of incompressible text: stored out of line (TOAST). */
function bigText(seed: string): string {
  return `SELECT string_agg(md5('${seed}' || g), '') FROM generate_series(1, 10000) g`;
}

beforeAll(async () => {
  const clusters = await useMigrationClusters('sync-apply');
  m = await prepareMigration(clusters, {
    name: 'apply',
    monolithSql: MONOLITH,
    planBody: PLAN,
  });
  await runCopy(m.routing);
  // A write-counting trigger on a projection shows which changes reach it (fires during apply).
  // The admin's own (SECURITY DEFINER, pinned search_path): carve runs no code a service wrote.
  await withClient(m.target.url('clinical_db'), (c) =>
    c.query(`
      CREATE TABLE memo_writes (id int, at timestamptz DEFAULT clock_timestamp());
      CREATE FUNCTION log_memo() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
        AS $$ BEGIN INSERT INTO memo_writes (id) VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER log_memo AFTER INSERT OR UPDATE ON public.ledger_memos FOR EACH ROW EXECUTE FUNCTION log_memo();
      ALTER TABLE public.ledger_memos ENABLE ALWAYS TRIGGER log_memo;`),
  );
  engine = await startSync({ routing: m.routing, onEvent: (e) => events.push(e), lagIntervalMs: 200 });
});

afterAll(async () => {
  await engine?.stop();
});

describe('carve sync applies', () => {
  it('inserts, updates and deletes on every route, with renames, projections and hostile names', async () => {
    await monolith(
      `INSERT INTO patients (id, name, mood, born, seen_at, tags) VALUES (1001, 'new', 'loud', '2001-02-03', '2024-05-06 07:08:09.654321+02', '{x,NULL,"y z"}')`,
    );
    await monolith(`UPDATE patients SET name = 'renamed', counter = counter + 1 WHERE id BETWEEN 1 AND 20`);
    await monolith(`DELETE FROM patients WHERE id BETWEEN 21 AND 30`);
    await monolith(`UPDATE "Visit Log" SET reason = NULL, counter = counter + 1 WHERE site = 1`);
    await monolith(`UPDATE ledger SET amount = amount + 0.01 WHERE id <= 10`);
    await monolith(`INSERT INTO ${Q_HOSTILE} VALUES (100, 'it''s "quoted" \\ back')`);
    await monolith(`DELETE FROM ${Q_HOSTILE} WHERE id = 1`);
    await caughtUpAndEqual();
    const rows = await target(
      'clinical_db',
      `SELECT id, name, mood::text FROM patient_names WHERE id IN (1, 1001) ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: '1', name: 'renamed', mood: 'calm' },
      { id: '1001', name: 'new', mood: 'loud' },
    ]);
    const upper = await target('patient_db', `SELECT name_upper FROM patients WHERE id = 1001`);
    expect(upper).toEqual([{ name_upper: 'NEW' }]);
  });

  it('deletes rows inserted after the snapshot, and re-inserts of the same key, in one transaction and across', async () => {
    await monolith(`BEGIN; INSERT INTO patients (id, name) VALUES (2001, 'a'), (2002, 'b'); DELETE FROM patients WHERE id = 2001;
                    INSERT INTO patients (id, name) VALUES (2001, 'again'); UPDATE patients SET name = 'b2' WHERE id = 2002; COMMIT`);
    await monolith(`DELETE FROM patients WHERE id = 2002`);
    await monolith(`INSERT INTO patients (id, name) SELECT g, 'bulk' FROM generate_series(3000, 3999) g`);
    await monolith(`DELETE FROM patients WHERE id BETWEEN 3000 AND 3499`);
    await caughtUpAndEqual();
    expect(await target('patient_db', `SELECT count(*)::int AS n FROM patients WHERE id >= 2001`)).toEqual([
      { n: 501 },
    ]);
  });

  it('keeps unchanged TOASTed text and jsonb when an update does not send them', async () => {
    await monolith(
      `INSERT INTO patients (id, name, notes, doc) VALUES (5000, 'toast', (${bigText('a')}), jsonb_build_object('blob', (${bigText('b')})))`,
    );
    await caughtUpAndEqual();
    await monolith(`UPDATE patients SET counter = counter + 1, name = 'toast2' WHERE id = 5000`);
    await monolith(`UPDATE patients SET doc = jsonb_build_object('blob', (${bigText('c')})) WHERE id = 5000`);
    await monolith(`UPDATE patients SET counter = counter + 1 WHERE id = 5000`);
    await caughtUpAndEqual();
    const [row] = await target(
      'patient_db',
      `SELECT length(notes) AS n, md5(notes) AS h, counter, length(doc->>'blob') AS d FROM patients WHERE id = 5000`,
    );
    expect(row).toEqual({ n: 320000, h: expect.any(String), counter: 2, d: 320000 });
  });

  it('re-reads from the monolith a row an unchanged-TOAST update finds missing (as after a resumed copy)', async () => {
    await monolith(
      `INSERT INTO patients (id, name, notes) VALUES (7000, 'lost', (${bigText('l')})), (7001, 'gone', (${bigText('g')}))`,
    );
    await caughtUpAndEqual();
    // The target lost both rows (a copy under a newer snapshot can miss a row the stream updates).
    await target('patient_db', 'DELETE FROM patients WHERE id IN (7000, 7001)');
    await monolith(`UPDATE patients SET counter = counter + 1 WHERE id IN (7000, 7001)`);
    await monolith(`DELETE FROM patients WHERE id = 7001`); // gone from the monolith too by the time it is re-read
    await caughtUpAndEqual();
    expect(
      await target(
        'patient_db',
        'SELECT id, counter, length(notes) AS n FROM patients WHERE id >= 7000 ORDER BY id',
      ),
    ).toEqual([{ id: '7000', counter: 1, n: 320000 }]);
    expect(engine.status().find((t) => t.database === 'patient_db')!.refetchedRows).toBeGreaterThanOrEqual(1);
  });

  it('applies key changes, also with unchanged TOAST values and composite keys', async () => {
    await monolith(`UPDATE patients SET id = id + 100000 WHERE id BETWEEN 40 AND 45`);
    await monolith(`UPDATE patients SET id = 6000 WHERE id = 5000`); // notes and doc stay unsent
    await monolith(`UPDATE "Visit Log" SET site = site + 10 WHERE visit_id <= 5`);
    await monolith(
      `BEGIN; UPDATE patients SET id = -1 WHERE id = 50; UPDATE patients SET id = 50 WHERE id = 51; UPDATE patients SET id = 51 WHERE id = -1; COMMIT`,
    );
    await caughtUpAndEqual();
    const [row] = await target('patient_db', `SELECT length(notes) AS n FROM patients WHERE id = 6000`);
    expect(row).toEqual({ n: 320000 });
  });

  it('applies TRUNCATE to the routed tables, followed by inserts in the same transaction', async () => {
    await monolith(`BEGIN; TRUNCATE "Visit Log"; INSERT INTO "Visit Log" VALUES (1, 1, 'after', 0); COMMIT`);
    await caughtUpAndEqual();
    expect(await target('clinical_db', `SELECT count(*)::int AS n FROM "Visit Log"`)).toEqual([{ n: 1 }]);
  });

  it('uses the full old row of a REPLICA IDENTITY FULL table, and skips projection updates that touch none of its columns', async () => {
    await withClient(m.target.url('clinical_db'), (c) => c.query('TRUNCATE memo_writes'));
    await monolith(`UPDATE ledger SET amount = amount * 2 WHERE id BETWEEN 1 AND 5`); // memo untouched
    await monolith(`UPDATE ledger SET memo = 'changed' WHERE id = 6`);
    await monolith(`UPDATE ledger SET id = 600 WHERE id = 7`);
    await monolith(`DELETE FROM ledger WHERE id = 8`);
    await caughtUpAndEqual();
    const writes = await withClient(
      m.target.url('clinical_db'),
      async (c) => (await c.query(`SELECT id FROM memo_writes ORDER BY id`)).rows,
    );
    expect(writes).toEqual([{ id: 6 }, { id: 600 }]);
  });

  it('replays a batch in source order when collapsing it broke a unique constraint (values swapped)', async () => {
    const before = events.filter((e) => e.type === 'reconnecting').length;
    await monolith(`BEGIN; UPDATE logins SET email = 'tmp' WHERE id = 1; UPDATE logins SET email = 'a@x' WHERE id = 2;
                    UPDATE logins SET email = 'b@x' WHERE id = 1; COMMIT`);
    await monolith(`UPDATE logins SET email = 'c2@x' WHERE id = 3`);
    await caughtUpAndEqual();
    const retries = events.filter((e) => e.type === 'reconnecting').slice(before);
    expect(retries).toContainEqual(
      expect.objectContaining({
        error: expect.objectContaining({ database: 'clinical_db', sqlState: '23505' }),
      }),
    );
    expect(await target('clinical_db', 'SELECT id, email FROM logins ORDER BY id')).toEqual([
      { id: 1, email: 'b@x' },
      { id: 2, email: 'a@x' },
      { id: 3, email: 'c2@x' },
    ]);
  });

  it('replays in source order, not key order, when the swap runs against key order', async () => {
    // Statements sort their rows by key; here key order (1 before 2) would take 'a@x' while id 2
    // still holds it, even in the source-order replay, unless that replay keeps source order.
    const before = events.filter((e) => e.type === 'reconnecting').length;
    await monolith(`BEGIN; UPDATE logins SET email = 'tmp' WHERE id = 2; UPDATE logins SET email = 'a@x' WHERE id = 1;
                    UPDATE logins SET email = 'b@x' WHERE id = 2; COMMIT`);
    await monolith(`UPDATE logins SET email = 'c3@x' WHERE id = 3`);
    await caughtUpAndEqual();
    const retries = events.filter((e) => e.type === 'reconnecting').slice(before);
    expect(retries).toContainEqual(
      expect.objectContaining({
        error: expect.objectContaining({ database: 'clinical_db', sqlState: '23505' }),
      }),
    );
    expect(await target('clinical_db', 'SELECT id, email FROM logins ORDER BY id')).toEqual([
      { id: 1, email: 'a@x' },
      { id: 2, email: 'b@x' },
      { id: 3, email: 'c3@x' },
    ]);
  });

  it('reads positions, holds and lag back from the databases without the engine (readSyncStatus)', async () => {
    await engine.waitForCatchUp();
    const status = await readSyncStatus(m.routing);
    expect(status.slot).toMatchObject({ name: m.routing.names.slot, exists: true, active: true });
    expect(status.targets.map((t) => t.database).sort()).toEqual(['clinical_db', 'patient_db']);
    for (const t of status.targets) {
      expect(t.appliedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(t.lagBytes).toBeGreaterThanOrEqual(0);
      expect(t.holds).toEqual([]);
    }
  });

  it('reports lag per target as events', async () => {
    const lag = events.filter((e): e is Extract<SyncEvent, { type: 'lag' }> => e.type === 'lag').at(-1)!;
    expect(lag.targets.map((t) => t.database).sort()).toEqual(['clinical_db', 'patient_db']);
    expect(lag.targets[0]).toMatchObject({
      appliedLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
      lagSeconds: expect.any(Number),
    });
  });
});
