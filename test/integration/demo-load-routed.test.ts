import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_KINDS, type OperationKind } from '../../src/demo/load/load-types.js';
import { ServiceRoutedTables } from '../../src/demo/load/routed-tables.js';
import { REVERSE_WAITS, startLoad } from '../../src/demo/load/start-load.js';
import { seedMonolith } from '../../src/demo/seed/seed-monolith.js';
import { withClient } from '../../src/pg/connect.js';
import type { Routing } from '../../src/routing/model.js';
import { runCarve } from '../support/carve-cli.js';
import { createDatabase } from '../support/cluster.js';
import { provisionMigration, runCopy } from '../support/copy-fixture.js';
import { useMigrationClusters } from '../support/migration.js';

/**
 * The load's service-routed mode on the real CareSync plan: with `patient` moved, its tables
 * (renamed ones included) are written in patient_db and nowhere else, a consultation (patients
 * read in patient_db, the visit written in the monolith) becomes two transactions, and moving
 * the service back sends the writes to the monolith again.
 */
let routing: Routing;
let sourceUrl: string;
let planFile: string;
let secretsDir: string;

const only = (kinds: OperationKind[]) =>
  Object.fromEntries(OPERATION_KINDS.map((k) => [k, kinds.includes(k) ? 1 : 0])) as Record<
    OperationKind,
    number
  >;

beforeAll(async () => {
  const clusters = await useMigrationClusters('load-routed');
  sourceUrl = await createDatabase(clusters.source, 'caresync');
  await seedMonolith({ url: sourceUrl, scale: 0.002 });
  const planText = readFileSync(new URL('../../plans/caresync.yaml', import.meta.url), 'utf8')
    .replace('${MONOLITH_URL}', sourceUrl)
    .replace('${TARGET_URL}', clusters.target.url());
  ({ routing, secretsDir } = await provisionMigration(sourceUrl, planText));
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-load-routed-')), 'plan.yaml');
  writeFileSync(planFile, planText);
  const copied = await runCopy(routing);
  expect(copied.complete).toBe(true);
}, 240_000);

async function changedSince(url: string, table: string, since: string): Promise<number> {
  return withClient(url, async (c) =>
    Number(
      (
        await c.query(`SELECT count(*) AS n FROM public.${table} WHERE updated_at >= $1::timestamptz`, [
          since,
        ])
      ).rows[0].n,
    ),
  );
}

describe('demo load, service-routed', () => {
  it('writes a moved service in its own database and splits transactions that span two', async () => {
    const patient = routing.services.find((s) => s.name === 'patient')!;
    const tables = new ServiceRoutedTables(routing);
    tables.move('patient', patient.url);
    const since = await withClient(
      sourceUrl,
      async (c) => (await c.query(`SELECT now()::text AS t`)).rows[0].t as string,
    );
    const monolithPatients = async () =>
      withClient(sourceUrl, async (c) =>
        Number((await c.query(`SELECT count(*) AS n FROM public.patients`)).rows[0].n),
      );
    const before = await monolithPatients();

    const report = await startLoad({
      url: sourceUrl,
      rate: 40,
      durationMs: 3000,
      seed: 5,
      mix: only(['new_patient', 'patient_update', 'allergy_update', 'consultation']),
      router: tables.router,
    }).done;
    expect(report.errors).toEqual({});
    expect(report.committed).toBe(120);
    // Patient-only operations ran in patient_db alone; a consultation in both.
    const consultations = report.byKind.consultation.transactions;
    expect(consultations).toBeGreaterThan(0);
    expect(report.databases).toEqual({ patient_db: 120, monolith: consultations });

    expect(await monolithPatients()).toBe(before);
    expect(await changedSince(patient.url, 'patients', since)).toBeGreaterThan(0);
    expect(await changedSince(patient.url, 'allergies', since)).toBeGreaterThan(0); // renamed table and column
    expect(await changedSince(sourceUrl, 'patients', since)).toBe(0);
    expect(await changedSince(sourceUrl, 'patient_allergies', since)).toBe(0);

    // Moved back (a rollback): the same operations write the monolith again.
    tables.restore('patient');
    const back = await startLoad({
      url: sourceUrl,
      rate: 40,
      durationMs: 1000,
      seed: 6,
      mix: only(['patient_update']),
      router: tables.router,
    }).done;
    expect(back.errors).toEqual({});
    expect(back.databases).toEqual({ monolith: back.committed });
    expect(await changedSince(sourceUrl, 'patients', since)).toBeGreaterThan(0);
  }, 120_000);

  it('carve demo load --routed-plan --service-url: the same from the command line', async () => {
    const bad = await runCarve([
      'demo',
      'load',
      '--source',
      sourceUrl,
      '--max',
      '5',
      '--service-url',
      'patient',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--service-url needs --routed-plan');
    const run = await runCarve([
      'demo',
      'load',
      '--source',
      sourceUrl,
      '--rate',
      '20',
      '--max',
      '20',
      '--seed',
      '9',
      '--routed-plan',
      planFile,
      '--service-url',
      'patient',
      '--secrets-dir',
      secretsDir,
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(report).toMatchObject({ type: 'report', committed: 20 });
    expect(report.databases.patient_db).toBeGreaterThan(0);
  }, 60_000);

  it('a 23503 waits for the reverse stream as long as it lags, runs again on the same draws, and fails when lag does not explain it', async () => {
    const patient = routing.services.find((s) => s.name === 'patient')!;
    const tables = new ServiceRoutedTables(routing);
    tables.move('patient', patient.url);
    // Many new patients (written in patient_db) and a few consultations (written in the monolith,
    // whose foreign key needs the patient there): the later consultations pick new patients.
    const options = {
      url: sourceUrl,
      rate: 300,
      durationMs: 5000,
      connections: 8,
      mix: { ...only(['new_patient', 'consultation']), new_patient: 20 },
      router: tables.router,
    };
    // Every column but the generated full_name.
    const PATIENT_COLUMNS =
      'id, mrn, profile_id, first_name, last_name, date_of_birth, sex, email, phone, address, primary_hospital_id, tags, deceased_at, created_at, updated_at';
    const seededMaxId = await withClient(sourceUrl, async (c) =>
      Number((await c.query(`SELECT coalesce(max(id), 0) AS n FROM public.patients`)).rows[0].n),
    );
    // The reverse stream, played by hand and slower than the old fixed budget (20 × 250 ms):
    // 6 s after a rejection, every patient written in patient_db so far reaches the monolith.
    const reverseIn6s = async (): Promise<boolean> => {
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const rows = await withClient(patient.url, async (c) =>
        (
          await c.query(`SELECT row_to_json(p) AS r FROM public.patients p WHERE id > $1`, [seededMaxId])
        ).rows.map((r) => r.r as unknown),
      );
      await withClient(sourceUrl, (c) =>
        c.query(
          `INSERT INTO public.patients (${PATIENT_COLUMNS}) OVERRIDING SYSTEM VALUE
           SELECT ${PATIENT_COLUMNS} FROM json_populate_recordset(NULL::public.patients, $1::json) ON CONFLICT (id) DO NOTHING`,
          [JSON.stringify(rows)],
        ),
      );
      return true;
    };
    const lagging = await startLoad({ ...options, seed: 11, awaitReverse: reverseIn6s }).done;
    expect(lagging.errors).toEqual({});
    expect(lagging.reverseWaits!.count).toBeGreaterThan(0);
    expect(lagging.reverseWaits!.timedOut).toBe(0);
    expect(lagging.reverseWaits!.maxMs).toBeGreaterThanOrEqual(6000);
    expect(lagging.retries).toEqual({ '23503': lagging.reverseWaits!.count });
    expect(lagging.routeWaits!.count).toBe(0); // no operation here writes the parent itself

    // The streams say they have caught up, yet the parent is still missing: not lag, the write
    // fails after REVERSE_WAITS waits (each one ran it again on the same rows).
    const missing = await startLoad({ ...options, seed: 12, awaitReverse: async () => true }).done;
    const rejected = missing.errors['23503'] ?? 0;
    expect(rejected).toBeGreaterThan(0);
    expect(Object.keys(missing.errors)).toEqual(['23503']);
    expect(missing.reverseWaits).toMatchObject({ count: rejected * REVERSE_WAITS, timedOut: 0 });

    // The streams did not get there within the budget: the write fails at once.
    const late = await startLoad({ ...options, seed: 13, awaitReverse: async () => false }).done;
    expect(late.errors['23503']).toBeGreaterThan(0);
    expect(late.reverseWaits).toMatchObject({ count: late.errors['23503'], timedOut: late.errors['23503'] });
  }, 90_000);

  it("an operation rejected because it wrote the parent itself in a service database waits for its child's table to move", async () => {
    const clinical = routing.services.find((s) => s.name === 'clinical')!;
    const pharmacy = routing.services.find((s) => s.name === 'pharmacy')!;
    const tables = new ServiceRoutedTables(routing);
    // A consultation in clinical_db, its prescriptions in the monolith: the monolith's foreign key
    // to the consultation (uncommitted in clinical_db) rejects them until pharmacy moves too.
    tables.move('clinical', clinical.url);
    const moved = setTimeout(() => tables.move('pharmacy', pharmacy.url), 4000);
    const report = await startLoad({
      url: sourceUrl,
      rate: 20,
      durationMs: 6000,
      seed: 21,
      mix: only(['consultation']),
      router: tables.router,
      // No reverse stream can bring an uncommitted row: a call here would be a wrong diagnosis.
      awaitReverse: async () => {
        throw new Error('not a reverse-stream lag');
      },
    }).done;
    clearTimeout(moved);
    expect(report.errors).toEqual({});
    expect(report.reverseWaits!.count).toBe(0);
    expect(report.routeWaits!.count).toBeGreaterThan(0);
    expect(report.routeWaits!.timedOut).toBe(0);
    expect(report.routeWaits!.maxMs).toBeGreaterThan(1000);
    expect(report.databases!.pharmacy_db).toBeGreaterThan(0);
  }, 60_000);
});
