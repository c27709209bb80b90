import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import { withClient } from '../../src/pg/connect.js';
import { parseLsn } from '../../src/pg/lsn.js';
import {
  checkReversePreconditions,
  dropReverse,
  prepareReverse,
  readReverseStatus,
  startReverseSync,
  waitReverseApplied,
  type ReverseEngine,
  type ReverseEvent,
} from '../../src/reverse/index.js';
import { introspect } from '../../src/catalog/introspect.js';
import { buildIndexesWithProvision } from '../../src/cli/copy.js';
import { migrate } from '../../src/migrate/index.js';
import { readMigrationStatus } from '../../src/migrate/status.js';
import { prepareRouting } from '../../src/routing/prepare-routing.js';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { withCarveLogins } from '../../src/routing/carve-logins.js';
import type { Routing } from '../../src/routing/model.js';
import { ensureMonolithSchema, MONOLITH_SCHEMA_VERSION } from '../../src/state/monolith-schema.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { seededRandom, spawnCarve } from '../support/carve-cli.js';
import { waitFor } from '../support/cluster.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * The reverse stream of a cut-over service on real clusters: `patient` owns `people` (renamed
 * `patients`, `full_name` → `name`, `legacy_code` dropped), which also feeds a projection in
 * clinical_db. Writes go straight into patient_db (no freeze needed for this): they must reach the
 * monolith exactly once (reverse stream) and clinical_db's projection (forward stream), and never
 * come back to patient_db. ENABLE ALWAYS triggers log every row write on both sides with the
 * writer's session_replication_role ('origin' = an application, 'replica' = a carve applier).
 */
const MONOLITH = `
CREATE TABLE people (id int PRIMARY KEY, full_name text NOT NULL, mood text, legacy_code text NOT NULL DEFAULT 'none', counter int NOT NULL DEFAULT 0, ward text NOT NULL DEFAULT 'w');
-- ward: dropped by the plan and NOT NULL, its default removed after the load (as a monolith that never had one).
CREATE TABLE visits (id int PRIMARY KEY, person_id int NOT NULL, note text);
CREATE TABLE invoices (id int PRIMARY KEY, amount numeric(12,2) NOT NULL);
INSERT INTO people (id, full_name, mood, legacy_code) SELECT g, 'p' || g, 'calm', 'L' || g FROM generate_series(1, 300) g;
INSERT INTO visits SELECT g, g % 300 + 1, 'v' FROM generate_series(1, 100) g;
INSERT INTO invoices SELECT g, g FROM generate_series(1, 100) g;
CREATE TABLE people_writes (id int, op text, role text);
CREATE FUNCTION log_people() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
  BEGIN
    INSERT INTO people_writes VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP, current_setting('session_replication_role'));
    RETURN NULL;
  END $$;
CREATE TRIGGER log_people AFTER INSERT OR UPDATE OR DELETE ON people FOR EACH ROW EXECUTE FUNCTION log_people();
ALTER TABLE people ENABLE ALWAYS TRIGGER log_people;
`;

const PLAN = `
services:
  patient:
    database: patient_db
    tables:
      patients:
        from: people
        columns:
          name: { from: full_name }
        drop: [legacy_code, ward]
  clinical:
    database: clinical_db
    tables:
      visits:
  billing:
    database: billing_db
    tables:
      invoices:
projections:
  - from: people
    to: clinical.patient_names
    columns: [id, full_name, mood, counter]
exclude: [people_writes]
`;

/** The same log on the service side (the admin's function: carve runs no code a service wrote). */
const SERVICE_LOG = `
CREATE TABLE patient_writes (id int, op text, role text);
CREATE FUNCTION log_patients() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
  BEGIN
    INSERT INTO patient_writes VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP, current_setting('session_replication_role'));
    RETURN NULL;
  END $$;
CREATE TRIGGER log_patients AFTER INSERT OR UPDATE OR DELETE ON public.patients FOR EACH ROW EXECUTE FUNCTION log_patients();
ALTER TABLE public.patients ENABLE ALWAYS TRIGGER log_patients;
`;

let m: Migration;
let planFile: string;
let patientDb: string;

async function service(sql: string, values: unknown[] = []) {
  return withClient(patientDb, (c) => c.query(sql, values));
}

async function monolith(sql: string, values: unknown[] = []) {
  return withClient(m.sourceUrl, (c) => c.query(sql, values));
}

async function serviceLsn(): Promise<string> {
  return (await service('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
}

/** Row writes per id: by applications in patient_db, by carve's reverse applier in the monolith. */
async function writeCounts(): Promise<{
  service: Map<number, number>;
  monolith: Map<number, number>;
  echoes: number;
}> {
  const count = (rows: { id: number; n: string }[]) => new Map(rows.map((r) => [r.id, Number(r.n)]));
  const serviceRows = await service(
    `SELECT id, count(*) AS n FROM patient_writes WHERE role = 'origin' GROUP BY id`,
  );
  const monolithRows = await monolith(
    `SELECT id, count(*) AS n FROM people_writes WHERE role = 'replica' GROUP BY id`,
  );
  // carve's forward applier writing into patient_db: only monolith writes may cause that (id 200).
  const echoes = await service(
    `SELECT count(*)::int AS n FROM patient_writes WHERE role = 'replica' AND id <> 200`,
  );
  return { service: count(serviceRows.rows), monolith: count(monolithRows.rows), echoes: echoes.rows[0].n };
}

/** Ids the reverse applier wrote into the monolith more often than the service changed them. */
function doubled(counts: Awaited<ReturnType<typeof writeCounts>>): number[] {
  return [...counts.monolith].filter(([id, n]) => n > (counts.service.get(id) ?? 0)).map(([id]) => id);
}

/** The routing as a command resolves it now (plan + a fresh catalog of the monolith). */
async function resolveRouting(): Promise<Routing> {
  const catalog = await withClient(m.sourceUrl, (c) => introspect(c));
  return withCarveLogins(buildRouting(parsePlan(m.planText, { env: {} }), catalog), {
    secretsDir: m.secretsDir,
  });
}

async function converge(routing: Routing): Promise<void> {
  const forward = await startSync({ routing });
  const reverse = await startReverseSync({ routing });
  try {
    await waitReverseApplied(routing, 'patient', await serviceLsn(), 60_000);
    await forward.waitForCatchUp();
  } finally {
    await reverse.stop();
    await forward.stop();
  }
}

beforeAll(async () => {
  const clusters = await useMigrationClusters('reverse');
  m = await prepareMigration(clusters, { name: 'rev', monolithSql: MONOLITH, planBody: PLAN });
  await runCopy(m.routing);
  patientDb = m.target.url('patient_db');
  await service(SERVICE_LOG);
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-reverse-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
}, 120_000);

describe('reverse stream', () => {
  it('refuses a dropped NOT NULL column without default before creating anything; its hint works', async () => {
    await monolith(`ALTER TABLE people ALTER COLUMN ward DROP DEFAULT`);
    const error = await prepareReverse(await resolveRouting(), 'patient').catch((e: unknown) => e);
    expect(isCarveError(error, 'REVERSE_DROPPED_NOT_NULL')).toBe(true);
    expect(isCarveError(error, 'REVERSE_DROPPED_NOT_NULL') && error.details.columns).toEqual([
      { table: 'public.people', column: 'ward' },
    ]);
    const slots = await service(`SELECT count(*)::int AS n FROM pg_replication_slots`);
    expect(slots.rows[0].n).toBe(0);
    const schema = await monolith(`SELECT to_regnamespace('carve') IS NULL AS absent`);
    expect(schema.rows[0].absent).toBe(true);
    // The hint: give the column a default on the monolith, then run again (with the plan read again).
    await monolith(`ALTER TABLE people ALTER COLUMN ward SET DEFAULT 'unknown'`);
    m.routing = await resolveRouting();
    checkReversePreconditions(
      m.routing,
      m.routing.services.find((s) => s.name === 'patient')!,
    );
  });

  it('applies service writes into the monolith once, feeds the other projection, and sends nothing back', async () => {
    const first = await prepareReverse(m.routing, 'patient');
    const again = await prepareReverse(m.routing, 'patient');
    expect(again).toEqual(first);
    const published = await service(
      `SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`,
      [first.publication],
    );
    expect(published.rows.map((r) => r.tablename)).toEqual(['patients']);

    const forwardEvents: string[] = [];
    const reverseEvents: ReverseEvent[] = [];
    const forward: SyncEngine = await startSync({
      routing: m.routing,
      onEvent: (e) => forwardEvents.push(e.type),
    });
    const reverse: ReverseEngine = await startReverseSync({
      routing: m.routing,
      onEvent: (e) => reverseEvents.push(e),
      lagIntervalMs: 200,
    });
    try {
      expect(reverse.running).toEqual(['patient']);
      await service(
        `INSERT INTO patients (id, name, mood, counter) SELECT g, 'new' || g, 'fresh', 1 FROM generate_series(1001, 1050) g`,
      );
      await service(`UPDATE patients SET name = name || '!', counter = counter + 1 WHERE id <= 40`);
      await service(`DELETE FROM patients WHERE id BETWEEN 41 AND 60`);
      await service(
        `BEGIN; UPDATE patients SET mood = 'busy' WHERE id = 1001; DELETE FROM patients WHERE id = 1002; INSERT INTO patients (id, name) VALUES (1100, 'late'); COMMIT`,
      );
      // A monolith write to the moving table (as before the freeze): forward into patient_db under
      // carve's forward origin, which the reverse stream must not send back.
      await monolith(`UPDATE people SET mood = 'from the monolith' WHERE id = 200`);
      // Other services' tables keep streaming forward meanwhile.
      await monolith(`INSERT INTO visits VALUES (500, 1, 'after cutover')`);
      await monolith(`UPDATE invoices SET amount = amount + 1 WHERE id <= 10`);

      const target = await serviceLsn();
      const applied = await waitReverseApplied(m.routing, 'patient', target, 30_000);
      expect(parseLsn(applied) >= parseLsn(target)).toBe(true);
      await forward.waitForCatchUp();

      // Monolith = patient_db (renamed table and column); clinical_db's projection = monolith; the rest too.
      expect(await mismatchedRoutes(m.routing)).toEqual([]);
      // Dropped column: default on insert, untouched on update, gone with a delete.
      const legacy = await monolith(
        `SELECT id, legacy_code, ward FROM people WHERE id IN (1, 40, 1001, 1100) ORDER BY id`,
      );
      expect(legacy.rows).toEqual([
        { id: 1, legacy_code: 'L1', ward: 'w' },
        { id: 40, legacy_code: 'L40', ward: 'w' },
        { id: 1001, legacy_code: 'none', ward: 'unknown' },
        { id: 1100, legacy_code: 'none', ward: 'unknown' },
      ]);
      const counts = await writeCounts();
      expect(counts.echoes).toBe(0); // nothing came back to patient_db
      expect(doubled(counts)).toEqual([]);
      // Every changed id reached the monolith (1002, inserted and deleted, may collapse into a
      // delete of a row the monolith never had, which writes nothing).
      const changed = [
        ...Array.from({ length: 60 }, (_, i) => 1 + i),
        ...Array.from({ length: 50 }, (_, i) => 1001 + i).filter((id) => id !== 1002),
        1100,
      ];
      expect(changed.filter((id) => !counts.monolith.has(id))).toEqual([]);
      expect(counts.monolith.has(200)).toBe(false); // the forward applier's write did not come back
      const forwarded = await service(`SELECT count(*)::int AS n FROM patient_writes WHERE id = 200`);
      expect(forwarded.rows[0].n).toBe(1);
      expect((await service(`SELECT mood FROM patients WHERE id = 200`)).rows).toEqual([
        { mood: 'from the monolith' },
      ]);
      const projection = await withClient(m.target.url('clinical_db'), (c) =>
        c.query(`SELECT full_name FROM patient_names WHERE id IN (1, 1100) ORDER BY id`),
      );
      expect(projection.rows).toEqual([{ full_name: 'p1!' }, { full_name: 'late' }]);

      const status = await readReverseStatus(m.routing, 'patient');
      expect(status).toMatchObject({ registered: true, running: true, slotExists: true, slot: first.slot });
      expect(parseLsn(status.appliedLsn!) >= parseLsn(target)).toBe(true);
      await waitFor(() => reverseEvents.some((e) => e.type === 'reverse-lag'), {
        what: 'a reverse-lag event',
      });
      expect(reverseEvents.some((e) => e.type === 'reverse-applied')).toBe(true);
      // The service's slot is acknowledged up to what the monolith holds, not beyond.
      await waitFor(
        async () => {
          const slot = await service(
            `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`,
            [first.slot],
          );
          const confirmed = parseLsn(slot.rows[0].lsn);
          const durable = parseLsn((await readReverseStatus(m.routing, 'patient')).appliedLsn!);
          return confirmed >= parseLsn(target) && confirmed <= durable;
        },
        { what: 'the reverse slot acknowledged' },
      );
      expect(forwardEvents).not.toContain('sync-stopped');
    } finally {
      await reverse.stop();
      await forward.stop();
    }
  }, 120_000);

  it('converges after kill -9 of carve sync (both directions) under service writes', async () => {
    const random = seededRandom(12);
    let stop = false;
    let written = 0;
    let nextId = 5000;
    // One writer on patient_db: inserts, updates, deletes, each its own transaction.
    const load = (async () => {
      await withClient(patientDb, async (c) => {
        while (!stop) {
          const pick = random();
          const id = 1 + Math.floor(random() * 300);
          if (pick < 0.4)
            await c.query(`INSERT INTO patients (id, name, counter) VALUES ($1, 'load', 0)`, [nextId++]);
          else if (pick < 0.9)
            await c.query(`UPDATE patients SET counter = counter + 1, mood = $2 WHERE id = $1`, [
              id,
              `m${written}`,
            ]);
          else await c.query(`DELETE FROM patients WHERE id = $1`, [id]);
          written++;
          await new Promise((r) => setTimeout(r, 2));
        }
      });
    })();
    // And the monolith keeps taking writes for the other services (forward stream, same process).
    let monolithWrites = 0;
    const monolithLoad = (async () => {
      await withClient(m.sourceUrl, async (c) => {
        while (!stop) {
          await c.query(`UPDATE invoices SET amount = amount + 1 WHERE id = $1`, [
            1 + (monolithWrites % 100),
          ]);
          await c.query(`INSERT INTO visits VALUES ($1, 1, 'load')`, [10_000 + monolithWrites]);
          monolithWrites++;
          await new Promise((r) => setTimeout(r, 5));
        }
      });
    })();
    try {
      for (let trial = 0; trial < 6; trial++) {
        const run = spawnCarve(['sync', '--plan', planFile, '--json', '--secrets-dir', m.secretsDir]);
        if (trial % 2 === 0) {
          await waitFor(async () => (await readReverseStatus(m.routing, 'patient')).running, {
            what: 'the reverse stream to run',
            timeoutMs: 30_000,
          });
        }
        await new Promise((r) => setTimeout(r, 200 + random() * 1500));
        run.child.kill('SIGKILL');
        await run.done;
        // Whatever the kill point: the slot is never acknowledged beyond what the monolith holds.
        const slot = await service(
          `SELECT confirmed_flush_lsn::text AS lsn, active FROM pg_replication_slots WHERE slot_name LIKE 'carve_rev_rev_%'`,
        );
        const durable = parseLsn((await readReverseStatus(m.routing, 'patient')).appliedLsn!);
        expect(parseLsn(slot.rows[0].lsn) <= durable).toBe(true);
      }
    } finally {
      stop = true;
      await load;
      await monolithLoad;
    }
    expect(written).toBeGreaterThan(100);
    expect(monolithWrites).toBeGreaterThan(50);
    await converge(m.routing);
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
    const counts = await writeCounts();
    expect(counts.echoes).toBe(0);
    expect(doubled(counts)).toEqual([]);
  }, 240_000);

  it('keeps up with a bulk load in the service database (measured)', async () => {
    // Written while no reverse stream runs, then caught up: the apply rate of the backlog.
    await service(
      `INSERT INTO patients (id, name, mood, counter) SELECT g, 'bulk' || g, 'x', 0 FROM generate_series(100000, 149999) g`,
    );
    await withClient(patientDb, async (c) => {
      for (let i = 0; i < 2000; i++)
        await c.query(`UPDATE patients SET counter = counter + 1 WHERE id = $1`, [100_000 + i]);
    });
    const target = await serviceLsn();
    const t0 = Date.now();
    const forward = await startSync({ routing: m.routing });
    const reverse = await startReverseSync({ routing: m.routing });
    try {
      await waitReverseApplied(m.routing, 'patient', target, 120_000);
      const applied = Date.now() - t0;
      await forward.waitForCatchUp();
      const caughtUp = Date.now() - t0;
      process.stdout.write(
        `reverse: backlog of a 50,000-row insert + 2,000 single-row update transactions in the monolith after ${applied} ms, in clinical_db's projection after ${caughtUp} ms (both engines started at 0)\n`,
      );
      expect(await mismatchedRoutes(m.routing)).toEqual([]);
    } finally {
      await reverse.stop();
      await forward.stop();
    }
  }, 180_000);

  it('carve migrate --follow streams the reverse stream too', async () => {
    const controller = new AbortController();
    const steps: string[] = [];
    const prepared = await prepareRouting(planFile);
    const running = migrate({
      prepared,
      buildIndexes: buildIndexesWithProvision,
      secretsDir: m.secretsDir,
      follow: true,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'step-started') steps.push(event.step);
      },
    });
    try {
      await waitFor(() => steps.includes('follow'), { what: 'migrate to follow', timeoutMs: 60_000 });
      await waitFor(async () => (await readReverseStatus(m.routing, 'patient')).running, {
        what: 'the reverse stream under migrate --follow',
      });
      await service(`UPDATE patients SET mood = 'followed' WHERE id = (SELECT max(id) FROM patients)`);
      await waitReverseApplied(m.routing, 'patient', await serviceLsn(), 20_000);
      const row = await monolith(`SELECT count(*)::int AS n FROM people WHERE mood = 'followed'`);
      expect(row.rows[0].n).toBe(1);
    } finally {
      controller.abort();
    }
    const report = await running;
    expect(report.ok).toBe(true);
  }, 120_000);

  it('drops the reverse stream idempotently; a running engine lets go of it', async () => {
    // Registered, and nothing streams it: carve status says so first of all.
    const alerted = async () =>
      (await readMigrationStatus(m.routing, { lagSeconds: false })).alerts.filter(
        (a) => a.code === 'REVERSE_NOT_RUNNING',
      );
    const [alert] = await waitFor(async () => ((await alerted()).length > 0 ? alerted() : null), {
      what: 'the REVERSE_NOT_RUNNING alert',
    });
    expect(alert).toMatchObject({
      severity: 'error',
      details: { service: 'patient', database: 'patient_db' },
    });
    const reverse = await startReverseSync({ routing: m.routing, pollMs: 200 });
    try {
      await waitFor(async () => (await readReverseStatus(m.routing, 'patient')).running, {
        what: 'the reverse stream to run',
      });
      expect(await alerted()).toEqual([]);
      expect(await dropReverse(m.routing, 'patient')).toEqual({
        registration: true,
        slot: true,
        publication: true,
      });
      await waitFor(() => reverse.running.length === 0, { what: 'the engine to stop the stream' });
      expect(await dropReverse(m.routing, 'patient')).toEqual({
        registration: false,
        slot: false,
        publication: false,
      });
      const status = await readReverseStatus(m.routing, 'patient');
      expect(status).toMatchObject({
        registered: false,
        running: false,
        slotExists: false,
        appliedLsn: null,
      });
      const error = await waitReverseApplied(m.routing, 'patient', '0/1', 1000).catch((e: unknown) => e);
      expect(isCarveError(error, 'REVERSE_NOT_REGISTERED')).toBe(true);

      // Registered again while the engine runs: picked up within a poll, from the new slot.
      const prepared = await prepareReverse(m.routing, 'patient');
      await waitFor(() => reverse.running.includes('patient'), {
        what: 'the new registration',
        timeoutMs: 2000,
      });
      const id = (await service(`SELECT min(id) AS id FROM patients`)).rows[0].id;
      await service(`UPDATE patients SET counter = counter + 100 WHERE id = $1`, [id]);
      await waitReverseApplied(m.routing, 'patient', await serviceLsn(), 20_000);
      expect(parseLsn(prepared.startLsn) > 0n).toBe(true);
      const row = await monolith(`SELECT counter FROM people WHERE id = $1`, [id]);
      const there = await service(`SELECT counter FROM patients WHERE id = $1`, [id]);
      expect(row.rows[0].counter).toBe(there.rows[0].counter);
      const timeout = await waitReverseApplied(m.routing, 'patient', 'FF/0', 300).catch((e: unknown) => e);
      expect(isCarveError(timeout, 'REVERSE_WAIT_TIMEOUT')).toBe(true);
      expect(await monolithSchemaVersion(m.sourceUrl)).toBe(MONOLITH_SCHEMA_VERSION);
    } finally {
      await reverse.stop();
    }
    // A write while no reverse stream runs: the wait times out. Its hint, followed: the reverse
    // stream running again, the wait tried again with a longer timeout.
    await service(`UPDATE patients SET counter = counter + 1 WHERE id = (SELECT min(id) FROM patients)`);
    const written = await serviceLsn();
    const stalled = await waitReverseApplied(m.routing, 'patient', written, 300).catch((e: unknown) => e);
    expect(isCarveError(stalled, 'REVERSE_WAIT_TIMEOUT')).toBe(true);
    expect((stalled as { hint: string }).hint).toContain('then try again with a longer timeout');
    const restarted = await startReverseSync({ routing: m.routing, pollMs: 200 });
    try {
      await waitReverseApplied(m.routing, 'patient', written, 20_000);
    } finally {
      await restarted.stop();
    }
  }, 60_000);

  it('as a monolith user that is no superuser: each missing right is a coded error whose hint works', async () => {
    await monolith(`CREATE ROLE rev_user LOGIN;
      GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON people TO rev_user;
      GRANT INSERT ON people_writes TO rev_user;
      GRANT USAGE ON SCHEMA carve TO rev_user;
      GRANT SELECT ON carve.reverse_streams TO rev_user;
      GRANT SELECT, UPDATE ON carve.reverse_positions TO rev_user;`);
    const url = new URL(m.sourceUrl);
    url.username = 'rev_user';
    url.password = '';
    const routing: Routing = { ...m.routing, sourceUrl: url.toString() };
    const attempt = async (): Promise<unknown> => {
      const engine = await startReverseSync({ routing, reconnect: { initialMs: 50, maxMs: 200 } });
      const failed = await Promise.race([
        engine.done.then(
          () => null,
          (error: unknown) => error,
        ),
        waitFor(async () => (await readReverseStatus(m.routing, 'patient')).running, {
          what: 'the stream',
          timeoutMs: 15_000,
        }).then(() => null),
      ]);
      await engine.stop().catch(() => {});
      return failed;
    };
    const replica = await attempt();
    expect(isCarveError(replica, 'SYNC_TARGET_PRIVILEGE')).toBe(true);
    expect((replica as Error & { hint: string }).hint).toContain(
      'GRANT SET ON PARAMETER session_replication_role TO "rev_user"',
    );
    await monolith(`GRANT SET ON PARAMETER session_replication_role TO rev_user`);
    const origin = await attempt();
    expect(isCarveError(origin, 'SYNC_ORIGIN_PRIVILEGE')).toBe(true);
    await monolith(
      `GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text), pg_replication_origin_xact_setup(pg_lsn, timestamptz) TO rev_user`,
    );
    const engine = await startReverseSync({ routing });
    try {
      const id = (await service(`SELECT min(id) AS id FROM patients`)).rows[0].id;
      await service(`UPDATE patients SET mood = 'by rev_user' WHERE id = $1`, [id]);
      await waitReverseApplied(m.routing, 'patient', await serviceLsn(), 20_000);
      const row = await monolith(`SELECT mood FROM people WHERE id = $1`, [id]);
      expect(row.rows[0].mood).toBe('by rev_user');
    } finally {
      await engine.stop();
    }
  }, 60_000);
});

async function monolithSchemaVersion(url: string): Promise<number> {
  return withClient(url, async (c) => {
    expect(await ensureMonolithSchema(c, 'carve')).toBe(MONOLITH_SCHEMA_VERSION); // a second run changes nothing
    return (await c.query(`SELECT max(version) AS v FROM carve.monolith_schema`)).rows[0].v;
  });
}
