import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { recover } from '../../src/recover/index.js';
import type { TableRoute } from '../../src/routing/model.js';
import { replicationOriginName, setUpReplicationOrigin } from '../../src/sync/replication-origin.js';
import { runCarve, seededRandom, spawnCarve } from '../support/carve-cli.js';
import {
  prepareMigration,
  routeChecksum,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * `carve recover`: the service database is the truth (reverse replication broken or never run);
 * after recover the monolith's copy of the service's tables equals it, the monolith's frozen
 * tables notwithstanding, and a kill -9 at any moment leaves something a rerun converges from.
 */
let m: Migration;
let planFile: string;
const patientUrl = () => m.routing.services.find((s) => s.name === 'patient')!.adminUrl;
const owned = (): TableRoute[] =>
  m.routing.routes.filter((r) => r.service === 'patient' && r.kind === 'owned');

beforeAll(async () => {
  const clusters = await useMigrationClusters('recover');
  m = await prepareMigration(clusters, {
    name: 'rc',
    monolithSql: `
      CREATE TABLE patients (id bigserial PRIMARY KEY, first_name text NOT NULL, legacy_code text DEFAULT 'legacy',
                             meta jsonb, born date);
      CREATE TABLE allergies (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, patient_id bigint REFERENCES patients,
                              severity text, label text GENERATED ALWAYS AS (upper(severity)) STORED);
      CREATE TABLE visits (id bigserial PRIMARY KEY, patient_id bigint REFERENCES patients, note text);
      INSERT INTO patients (first_name, legacy_code, meta, born)
        SELECT 'p' || g, 'L' || g, jsonb_build_object('g', g), date '1950-01-01' + g FROM generate_series(1, 3000) g;
      INSERT INTO allergies (patient_id, severity) SELECT 1 + g % 3000, 'mild' FROM generate_series(1, 2000) g;
      INSERT INTO visits (patient_id, note) SELECT 1 + g % 100, 'v' FROM generate_series(1, 500) g;
      -- A cutover-style freeze: application writes to the service's tables fail.
      CREATE FUNCTION frozen() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'table % moved to patient_db', TG_TABLE_NAME USING ERRCODE = '55000'; END $$;
      CREATE TRIGGER carve_freeze BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON patients
        FOR EACH STATEMENT EXECUTE FUNCTION frozen();`,
    planBody: `
services:
  patient:
    database: rc_patient
    tables:
      people: { from: patients, drop: [legacy_code], columns: { given_name: { from: first_name } } }
      allergies: {}
  clinical:
    database: rc_clinical
    tables: { visits: {} }
projections:
  - { from: patients, to: clinical.patient_names, columns: [id, first_name] }
`,
  });
  await runCopy(m.routing);
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-recover-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
});

/** Writes in the service database that never reach the monolith (no reverse stream). */
async function diverge(round: number): Promise<void> {
  await withClient(patientUrl(), (c) =>
    c.query(`
      INSERT INTO people (given_name, meta, born) SELECT 'new${round}-' || g, '{"n": 1}', date '2000-01-01' FROM generate_series(1, 200) g;
      UPDATE people SET given_name = given_name || '*', meta = meta || '{"u": ${round}}' WHERE id % 7 = ${round % 7};
      DELETE FROM allergies WHERE id % 11 = ${round % 11};
      DELETE FROM people p WHERE id BETWEEN ${1000 + round * 20} AND ${1010 + round * 20}
        AND NOT EXISTS (SELECT 1 FROM allergies a WHERE a.patient_id = p.id);
      INSERT INTO allergies (patient_id, severity) SELECT id, 'severe' FROM people ORDER BY id DESC LIMIT 50;
      UPDATE allergies SET severity = 'moderate' WHERE id % 13 = ${round % 13};`),
  );
}

async function mismatches(): Promise<string[]> {
  const out: string[] = [];
  for (const route of owned()) {
    const [s, t] = await Promise.all([
      routeChecksum(m.routing, route, 'source'),
      routeChecksum(m.routing, route, 'target'),
    ]);
    if (s !== t) out.push(`${route.id}: monolith ${s} service ${t}`);
  }
  return out;
}

describe('carve recover', () => {
  it('makes the monolith equal the service: upsert, delete, renamed and dropped columns, through the freeze', async () => {
    await diverge(1);
    expect(await mismatches()).not.toEqual([]);
    const legacyBefore = await withClient(
      m.sourceUrl,
      async (c) => (await c.query(`SELECT legacy_code FROM patients WHERE id = 7`)).rows[0].legacy_code,
    );

    const dry = await recover({ routing: m.routing, service: 'patient', dryRun: true });
    expect(dry.totals.inserted).toBeGreaterThanOrEqual(250);
    expect(dry.totals.updated).toBeGreaterThan(0);
    expect(dry.totals.deleted).toBeGreaterThan(0);
    expect(await mismatches()).not.toEqual([]); // rolled back

    const unasked = await runCarve([
      'recover',
      '--plan',
      planFile,
      '--service',
      'patient',
      '--json',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(unasked.code).toBe(2);
    expect(JSON.parse(unasked.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      code: 'USAGE',
      details: { dryRun: true, totals: dry.totals },
    });

    const unknown = await runCarve([
      'recover',
      '--plan',
      planFile,
      '--service',
      'nope',
      '--yes',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('RECOVER_UNKNOWN_SERVICE');

    const done = await recover({ routing: m.routing, service: 'patient' });
    expect(done.totals).toEqual(dry.totals);
    expect(done.verify?.ok).toBe(true);
    expect(done.origin).toBe(replicationOriginName('rc', 'rev', 'rc_patient'));
    expect(await mismatches()).toEqual([]);

    await withClient(m.sourceUrl, async (c) => {
      // The dropped column kept its monolith value on updated rows; new rows got its default.
      expect((await c.query(`SELECT legacy_code FROM patients WHERE id = 7`)).rows[0].legacy_code).toBe(
        legacyBefore,
      );
      expect(
        (
          await c.query(
            `SELECT count(*)::int AS n FROM patients WHERE first_name LIKE 'new1-%' AND legacy_code = 'legacy'`,
          )
        ).rows[0].n,
      ).toBe(200);
      // The generated column was recomputed by the monolith.
      expect(
        (
          await c.query(
            `SELECT count(*)::int AS n FROM allergies WHERE label IS DISTINCT FROM upper(severity)`,
          )
        ).rows[0].n,
      ).toBe(0);
      // Sequences past what the service inserted; the freeze still holds for the application.
      const next = (await c.query(`SELECT last_value FROM patients_id_seq`)).rows[0].last_value;
      const max = (await c.query(`SELECT max(id) AS m FROM patients`)).rows[0].m;
      expect(BigInt(next)).toBeGreaterThanOrEqual(BigInt(max));
      await expect(c.query(`UPDATE patients SET first_name = 'x' WHERE id = 1`)).rejects.toMatchObject({
        code: '55000',
      });
      expect(
        (await c.query(`SELECT 1 FROM pg_replication_origin WHERE roname = $1`, [done.origin])).rowCount,
      ).toBe(1);
    });

    // Nothing to do the second time.
    const again = await runCarve([
      'recover',
      '--plan',
      planFile,
      '--service',
      'patient',
      '--yes',
      '--json',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      type: 'recover-result',
      totals: { inserted: 0, updated: 0, deleted: 0 },
      verify: { ok: true },
    });
  }, 120_000);

  it('refuses while the reverse origin is held (a running reverse stream)', async () => {
    await withClient(m.sourceUrl, async (holder) => {
      await setUpReplicationOrigin(holder, replicationOriginName('rc', 'rev', 'rc_patient'), {
        database: 'mono',
      });
      await expect(
        recover({ routing: m.routing, service: 'patient', originWaitMs: 200 }),
      ).rejects.toMatchObject({
        code: 'RECOVER_REVERSE_RUNNING',
        hint: expect.stringContaining('then run carve recover again'),
      });
    });
    // The holder's session ended (the reverse stream stopped, as the hint says): recover runs.
    await recover({ routing: m.routing, service: 'patient', originWaitMs: 200, verify: false });
  });

  it('converges after kill -9 at random points', async () => {
    const random = seededRandom(7);
    let kills = 0;
    for (let trial = 0; trial < 3; trial++) {
      await diverge(trial + 2);
      const before = await mismatches();
      expect(before).not.toEqual([]);
      const { child, done } = spawnCarve([
        'recover',
        '--plan',
        planFile,
        '--service',
        'patient',
        '--yes',
        '--no-verify',
        '--json',
        '--secrets-dir',
        m.secretsDir,
      ]);
      let started = false;
      child.stdout!.on('data', (d: Buffer) => {
        if (!started && d.toString().includes('"recover-started"')) {
          started = true;
          setTimeout(() => child.kill('SIGKILL'), Math.round(random() * 150));
        }
      });
      const killed = await done;
      if (killed.signal === 'SIGKILL') kills++;
      // Killed inside the transaction: the monolith is as it was; or after the commit: it matches.
      const after = await mismatches();
      if (killed.signal === 'SIGKILL' && after.length > 0) expect(after.length).toBe(before.length);
      const rerun = await runCarve([
        'recover',
        '--plan',
        planFile,
        '--service',
        'patient',
        '--yes',
        '--json',
        '--secrets-dir',
        m.secretsDir,
      ]);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(await mismatches()).toEqual([]);
    }
    expect(kills, 'no trial was killed before it finished').toBeGreaterThan(0);
  }, 180_000);
});

describe('carve recover as a monolith user without superuser', () => {
  it('names the missing privilege, and works once the hint is followed', async () => {
    await withClient(m.sourceUrl, (c) =>
      c.query(`
        CREATE ROLE rc_app LOGIN REPLICATION PASSWORD 'rc-secret';
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rc_app;
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO rc_app;
        GRANT CREATE ON SCHEMA public TO rc_app;
        GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text),
          pg_replication_origin_session_reset() TO rc_app;`),
    );
    const url = new URL(m.sourceUrl);
    url.username = 'rc_app';
    url.password = 'rc-secret';
    const routing = { ...m.routing, sourceUrl: url.toString() };
    await diverge(20);
    const denied = await recover({ routing, service: 'patient', verify: false }).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'RECOVER_REPLICA_ROLE_DENIED' });
    expect(await mismatches()).not.toEqual([]);
    await withClient(m.sourceUrl, (c) =>
      c.query(`GRANT SET ON PARAMETER session_replication_role TO rc_app`),
    );
    const done = await recover({ routing, service: 'patient', verify: false });
    expect(done.totals.inserted).toBeGreaterThan(0);
    expect(await mismatches()).toEqual([]);
  }, 60_000);
});

describe('carve recover against a constraint only the monolith has', () => {
  it('fails with the table named, commits nothing, and works once the service rows are fixed', async () => {
    await withClient(m.sourceUrl, (c) =>
      c.query(`CREATE UNIQUE INDEX patients_first_name_key ON patients (first_name)`),
    );
    try {
      await withClient(patientUrl(), (c) =>
        c.query(
          `INSERT INTO people (given_name) VALUES ('twin'), ('twin'); UPDATE people SET born = '1999-09-09' WHERE id = 3`,
        ),
      );
      const failed = await recover({ routing: m.routing, service: 'patient', verify: false }).catch(
        (e: unknown) => e,
      );
      expect(failed).toMatchObject({
        code: 'RECOVER_CONSTRAINT_VIOLATION',
        details: { table: 'public.patients', sqlState: '23505', constraint: 'patients_first_name_key' },
      });
      expect(await mismatches()).not.toEqual([]);
      await withClient(patientUrl(), (c) =>
        c.query(`DELETE FROM people WHERE id = (SELECT max(id) FROM people WHERE given_name = 'twin')`),
      );
      await recover({ routing: m.routing, service: 'patient', verify: false });
      expect(await mismatches()).toEqual([]);
    } finally {
      await withClient(m.sourceUrl, (c) => c.query(`DROP INDEX patients_first_name_key`));
    }
  }, 60_000);
});
