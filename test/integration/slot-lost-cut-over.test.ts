import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { jsonError, succeeds } from '../support/cli-errors.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { CUTOVER_MONOLITH, CUTOVER_PLAN } from '../support/cutover-fixture.js';
import { useMigrationClusters } from '../support/migration.js';

/**
 * The monolith loses the forward slot (dropped) while a service is cut over. The start-over recipe
 * (teardown, drop every service database, migrate) would throw away the cut-over service's writes,
 * whose database is the truth, and teardown refuses while a service is cut over anyway. carve sync
 * and carve status must name the cut-over service, never ask to drop its database, and their hint,
 * followed literally, must end with carve verify clean and every write of the service in the
 * monolith (checksums), including those made while no stream ran.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
let planFile: string;
const work = mkdtempSync(join(tmpdir(), 'carve-slot-lost-cut-over-'));
const secretsDir = join(work, 'secrets');
const cli = (...args: string[]) => [...args, '--plan', planFile, '--secrets-dir', secretsDir];
const patientDb = () => target.url('sl_patient');
const SLOT = 'carve_sl';
let sync: { child: import('node:child_process').ChildProcess; done: Promise<CliRun> } | undefined;

beforeAll(async () => {
  ({ source, target } = await useMigrationClusters('slot-lost-cut-over'));
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) => c.query(CUTOVER_MONOLITH));
  planFile = join(work, 'plan.yaml');
  writeFileSync(
    planFile,
    `name: sl\nsource: ${sourceUrl}\ntarget: ${target.url()}\n${CUTOVER_PLAN.replaceAll(/\b(patient|clinical|shared)_db\b/g, 'sl_$1')}`,
  );
  await succeeds(cli('migrate'));
}, 90_000);

afterAll(async () => {
  if (sync && sync.child.exitCode === null && sync.child.signalCode === null) {
    sync.child.kill('SIGINT');
    await sync.done;
  }
});

const PATIENTS = `SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, hospital_id, name, allergies), ',' ORDER BY id)) AS h FROM patients`;
const VISITS = `SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, patient_id, notes), ',' ORDER BY id)) AS h FROM visits`;

async function rows(url: string, sql: string): Promise<unknown> {
  return withClient(url, async (c) => (await c.query(sql)).rows[0]);
}

async function slotName(): Promise<string> {
  return withClient(sourceUrl, async (c) => {
    const { rows: r } = await c.query(
      `SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'carve%' AND database = 'mono'`,
    );
    expect(r.length).toBe(1);
    return r[0].slot_name as string;
  });
}

/** carve sync until it exits on its own (or fails the test after `ms`). */
async function syncUntilItStops(ms: number): Promise<CliRun> {
  const run = spawnCarve([...cli('sync'), '--json']);
  try {
    return await Promise.race([
      run.done,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('carve sync still runs')), ms)),
    ]);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
}

/** The commands a hint names, in order, each with its arguments (`carve x --plan F ...`). */
function commandsOf(hint: string): string[][] {
  return [...hint.matchAll(/carve [a-z]+(?: (?:--[a-z-]+|[^\s,;:()]+))*/g)].map((m) =>
    m[0].replace(/[.]$/, '').split(' ').slice(1),
  );
}

describe('the forward slot lost while a service is cut over', () => {
  it('sync and status name the cut-over service; the hint followed keeps all of its writes', async () => {
    // patient is cut over beside a running carve sync; its writes flow back through the reverse stream.
    sync = spawnCarve(cli('sync'));
    await succeeds(cli('cutover', '--service', 'patient'));
    await withClient(patientDb(), (c) =>
      c.query(`INSERT INTO patients (hospital_id, name) SELECT 1 + g % 20, 'new ' || g FROM generate_series(1, 40) g;
               UPDATE patients SET allergies = 'latex' WHERE id BETWEEN 10 AND 30;
               DELETE FROM documents WHERE patient_id BETWEEN 100 AND 110;
               DELETE FROM patients WHERE id BETWEEN 100 AND 110;`),
    );
    await waitFor(
      async () =>
        JSON.stringify(await rows(sourceUrl, PATIENTS)) === JSON.stringify(await rows(patientDb(), PATIENTS)),
      {
        what: 'the reverse stream to bring the service writes into the monolith',
        timeoutMs: 45_000,
      },
    );
    sync.child.kill('SIGINT');
    expect((await sync.done).code).toBe(0);
    sync = undefined;

    // The service keeps writing while no stream runs; the monolith keeps writing visits.
    await withClient(patientDb(), (c) =>
      c.query(`UPDATE patients SET name = name || ' (later)' WHERE id BETWEEN 200 AND 220;
               INSERT INTO patients (hospital_id, name) VALUES (3, 'while the slot was gone');`),
    );
    await withClient(sourceUrl, (c) =>
      c.query(`INSERT INTO visits (patient_id, notes) VALUES (5, 'monolith write')`),
    );

    // The forward slot is lost.
    const slot = await slotName();
    expect(slot).toContain(SLOT);
    await withClient(sourceUrl, (c) => c.query(`SELECT pg_drop_replication_slot($1)`, [slot]));

    const refused = await syncUntilItStops(60_000);
    const error = jsonError(refused);
    console.log('carve sync:', JSON.stringify(error, null, 2));
    expect(error.code, error.message).toBe('SYNC_SLOT_MISSING');
    expect(refused.code).toBe(1);

    const statusRun = await runCarve([...cli('status'), '--json']);
    const status = JSON.parse(statusRun.stdout) as {
      alerts: { code: string; hint: string; message: string; details: Record<string, unknown> }[];
    };
    console.log('carve status alerts:', JSON.stringify(status.alerts, null, 2));
    const alert = status.alerts.find((a) => a.code === 'SLOT_MISSING');
    expect(alert).toBeDefined();

    for (const said of [error, alert!]) {
      // The cut-over service is named, and nothing asks to drop its database before it is back.
      expect(said.details).toMatchObject({ cutOver: [{ service: 'patient', database: 'sl_patient' }] });
      expect(said.message).toContain('patient');
      expect(said.hint).toContain('sl_patient holds writes the monolith does not have');
      expect(said.hint.indexOf('carve rollback')).toBeLessThan(said.hint.indexOf('carve teardown'));
    }

    // The hint, followed literally: every command it names, in order (the CLI puts the plan file in
    // place of <plan> in carve status's alert; carve sync's error keeps <plan>, otherwise the same). Dropping databases is done by the test
    // where the hint says so, after the rollback.
    expect(error.hint.replaceAll('<plan>', planFile)).toBe(alert!.hint);
    const steps = commandsOf(alert!.hint);
    expect(steps.map((s) => s[0])).toEqual(['rollback', 'teardown', 'migrate']);
    const [rollbackStep, teardownStep, migrateStep] = steps as [string[], string[], string[]];
    expect(rollbackStep).toEqual(['rollback', '--plan', planFile, '--service', 'patient']);
    await succeeds([...rollbackStep, '--secrets-dir', secretsDir]);
    // The rollback brought every service write into the monolith, the ones made while no stream ran too.
    expect(await rows(sourceUrl, PATIENTS)).toEqual(await rows(patientDb(), PATIENTS));
    const serviceWrites = await rows(patientDb(), PATIENTS);

    await succeeds([...teardownStep, '--secrets-dir', secretsDir]);
    const dropped = /then drop the service databases \(([^)]+)\)/.exec(alert!.hint);
    expect(dropped, error.hint).not.toBeNull();
    const databases = dropped![1]!.split(', ');
    expect(databases.sort()).toEqual(['sl_clinical', 'sl_patient', 'sl_shared']);
    await withClient(target.url(), async (c) => {
      for (const d of databases) await c.query(`DROP DATABASE "${d}" WITH (FORCE)`);
    });
    await succeeds([...migrateStep, '--secrets-dir', secretsDir]);

    // Nothing lost: the monolith holds the service's writes, every service database equals it.
    expect(await rows(sourceUrl, PATIENTS)).toEqual(serviceWrites);
    expect(await rows(patientDb(), PATIENTS)).toEqual(serviceWrites);
    expect(await rows(target.url('sl_clinical'), VISITS)).toEqual(await rows(sourceUrl, VISITS));
    await succeeds(cli('verify'));
    const after = await runCarve([...cli('status'), '--json']);
    expect(after.code, after.stdout).toBe(0);
  }, 240_000);
});
