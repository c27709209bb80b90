import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, runCarveUntilExit, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { jsonError, succeeds } from '../support/cli-errors.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';
import { CUTOVER_MONOLITH, CUTOVER_PLAN } from '../support/cutover-fixture.js';

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
const work = mkdtempSync(join(tmpdir(), 'carve-slot-lost-cut-over-'));
const secretsDir = join(work, 'secrets');
let sync: { child: import('node:child_process').ChildProcess; done: Promise<CliRun> } | undefined;

beforeAll(async () => {
  [source, target] = await Promise.all([
    // Small, so that a few WAL switches and a checkpoint invalidate the forward slot.
    useCluster({ name: 'slot-lost-co-src', settings: { max_slot_wal_keep_size: '2MB' } }),
    useCluster({ name: 'slot-lost-co-dst' }),
  ]);
}, 60_000);

afterAll(async () => {
  if (sync && sync.child.exitCode === null && sync.child.signalCode === null) {
    sync.child.kill('SIGINT');
    await sync.done;
  }
});

/** A fresh migration `name` (databases <name>_patient, …) on its own monolith database. */
async function migration(name: string) {
  const sourceUrl = await createDatabase(source, `${name}_mono`);
  await withClient(sourceUrl, (c) => c.query(CUTOVER_MONOLITH));
  const planFile = join(work, `${name}.yaml`);
  writeFileSync(
    planFile,
    `name: ${name}\nsource: ${sourceUrl}\ntarget: ${target.url()}\n${CUTOVER_PLAN.replaceAll(/\b(patient|clinical|shared)_db\b/g, `${name}_$1`)}`,
  );
  const cli = (...args: string[]) => [...args, '--plan', planFile, '--secrets-dir', secretsDir];
  await succeeds(cli('migrate'));
  return { name, sourceUrl, planFile, cli, patientDb: target.url(`${name}_patient`), slot: `carve_${name}` };
}

const PATIENTS = `SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, hospital_id, name, allergies), ',' ORDER BY id)) AS h FROM patients`;
const VISITS = `SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, patient_id, notes), ',' ORDER BY id)) AS h FROM visits`;

async function rows(url: string, sql: string): Promise<unknown> {
  return withClient(url, async (c) => (await c.query(sql)).rows[0]);
}

/** The commands a hint names, in order, each with its arguments (`carve x --plan F ...`). */
function commandsOf(hint: string): string[][] {
  return [...hint.matchAll(/carve [a-z]+(?: (?:--[a-z-]+|[^\s,;:()]+))*/g)].map((m) =>
    m[0].replace(/[.]$/, '').split(' ').slice(1),
  );
}

/** Write WAL past max_slot_wal_keep_size (segment switches), then a checkpoint removes it. */
async function invalidate(sourceUrl: string, slot: string): Promise<void> {
  await withClient(sourceUrl, async (c) => {
    for (let i = 0; i < 4; i++) {
      await c.query(
        `INSERT INTO visits (patient_id, notes) SELECT 1 + g % 50, 'wal ' || g FROM generate_series(1, 500) g`,
      );
      await c.query('SELECT pg_switch_wal()');
    }
    await c.query('CHECKPOINT');
    const { rows: r } = await c.query(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1`, [
      slot,
    ]);
    expect(r[0]?.wal_status).toBe('lost');
  });
}

async function drop(sourceUrl: string, slot: string): Promise<void> {
  await withClient(sourceUrl, (c) => c.query(`SELECT pg_drop_replication_slot($1)`, [slot]));
}

describe('the forward slot lost while a service is cut over', () => {
  it.each([
    { how: 'dropped', name: 'sld', lose: drop, syncCode: 'SYNC_SLOT_MISSING', alertCode: 'SLOT_MISSING' },
    { how: 'invalidated', name: 'sli', lose: invalidate, syncCode: 'SYNC_SLOT_LOST', alertCode: 'SLOT_LOST' },
  ])(
    '$how: sync and status name the cut-over service; the hint followed keeps all of its writes',
    async (c) => {
      const { sourceUrl, planFile, cli, patientDb, slot } = await migration(c.name);
      // patient is cut over beside a running carve sync; its writes flow back through the reverse stream.
      sync = spawnCarve(cli('sync'));
      await succeeds(cli('cutover', '--service', 'patient'));
      await withClient(patientDb, (db) =>
        db.query(`INSERT INTO patients (hospital_id, name) SELECT 1 + g % 20, 'new ' || g FROM generate_series(1, 40) g;
               UPDATE patients SET allergies = 'latex' WHERE id BETWEEN 10 AND 30;
               DELETE FROM documents WHERE patient_id BETWEEN 100 AND 110;
               DELETE FROM patients WHERE id BETWEEN 100 AND 110;`),
      );
      await waitFor(
        async () =>
          JSON.stringify(await rows(sourceUrl, PATIENTS)) === JSON.stringify(await rows(patientDb, PATIENTS)),
        { what: 'the reverse stream to bring the service writes into the monolith', timeoutMs: 45_000 },
      );
      sync.child.kill('SIGINT');
      expect((await sync.done).code).toBe(0);
      sync = undefined;

      // The service keeps writing while no stream runs; the monolith keeps writing visits.
      await withClient(patientDb, (db) =>
        db.query(`UPDATE patients SET name = name || ' (later)' WHERE id BETWEEN 200 AND 220;
               INSERT INTO patients (hospital_id, name) VALUES (3, 'while the slot was gone');`),
      );
      await withClient(sourceUrl, (db) =>
        db.query(`INSERT INTO visits (patient_id, notes) VALUES (5, 'monolith write')`),
      );

      // The forward slot is lost.
      await c.lose(sourceUrl, slot);

      // carve sync refuses before it starts any stream: the reverse stream does not run either.
      const refused = await runCarveUntilExit([...cli('sync'), '--json'], 60_000);
      const error = jsonError(refused);
      expect(error.code, error.message).toBe(c.syncCode);
      expect(refused.code).toBe(1);
      expect(await rows(sourceUrl, PATIENTS)).not.toEqual(await rows(patientDb, PATIENTS));

      const statusRun = await runCarve([...cli('status'), '--json']);
      expect(statusRun.code).toBe(5);
      const status = JSON.parse(statusRun.stdout) as {
        phase: string;
        alerts: { code: string; hint: string; message: string; details: Record<string, unknown> }[];
      };
      expect(status.phase).toBe('slot-lost');
      const alert = status.alerts.find((a) => a.code === c.alertCode);
      expect(alert, JSON.stringify(status.alerts)).toBeDefined();
      // The reverse stream's own alert does not send the operator to carve sync, which refuses.
      const reverse = status.alerts.find((a) => a.code === 'REVERSE_NOT_RUNNING');
      expect(reverse?.hint).toContain(`carve rollback --plan ${planFile} --service patient`);
      expect(reverse?.hint).not.toContain('Start carve sync');

      for (const said of [error, alert!]) {
        // The cut-over service is named, and nothing asks to drop its database before it is back.
        expect(said.details).toMatchObject({
          cutOver: [{ service: 'patient', database: `${c.name}_patient`, phase: 'cut-over' }],
        });
        expect(said.message).toContain('patient is cut over');
        expect(said.hint).toContain(
          `${c.name}_patient holds writes the monolith does not have (do not drop it`,
        );
        expect(said.hint.indexOf('carve rollback')).toBeLessThan(
          said.hint.indexOf('drop the service databases'),
        );
      }

      // The hint, followed literally: every command it names, in order (the CLI puts the plan file in
      // place of <plan> in carve status's alert; carve sync's error keeps <plan> and may say first why the slot is lost).
      // Dropping the databases is done by the test, where the hint says so: after the rollback.
      expect(error.hint.replaceAll('<plan>', planFile)).toContain(alert!.hint);
      const steps = commandsOf(alert!.hint);
      expect(steps.map((s) => s[0])).toEqual(['rollback', 'teardown', 'migrate']);
      const [rollbackStep, teardownStep, migrateStep] = steps as [string[], string[], string[]];
      expect(rollbackStep).toEqual(['rollback', '--plan', planFile, '--service', 'patient']);
      await succeeds([...rollbackStep, '--secrets-dir', secretsDir]);
      // The rollback brought every service write into the monolith, the ones made while no stream ran too.
      const serviceWrites = await rows(patientDb, PATIENTS);
      expect(await rows(sourceUrl, PATIENTS)).toEqual(serviceWrites);

      await succeeds([...teardownStep, '--secrets-dir', secretsDir]);
      const dropped = /then drop the service databases \(([^)]+)\)/.exec(alert!.hint);
      expect(dropped, alert!.hint).not.toBeNull();
      const databases = dropped![1]!.split(', ');
      expect([...databases].sort()).toEqual([`${c.name}_clinical`, `${c.name}_patient`, `${c.name}_shared`]);
      await withClient(target.url(), async (db) => {
        for (const d of databases) await db.query(`DROP DATABASE "${d}" WITH (FORCE)`);
      });
      await succeeds([...migrateStep, '--secrets-dir', secretsDir]);

      // Nothing lost: the monolith holds the service's writes, every service database equals it.
      expect(await rows(sourceUrl, PATIENTS)).toEqual(serviceWrites);
      expect(await rows(patientDb, PATIENTS)).toEqual(serviceWrites);
      expect(await rows(target.url(`${c.name}_clinical`), VISITS)).toEqual(await rows(sourceUrl, VISITS));
      await succeeds(cli('verify'));
      const after = await runCarve([...cli('status'), '--json']);
      expect(after.code, after.stdout).toBe(0);
    },
    150_000,
  );
});
