import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { seedMonolith } from '../../src/demo/seed/seed-monolith.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { sqlStateOf } from '../../src/pg/sqlstate.js';
import type { PlanProblem } from '../../src/plan/problems.js';
import type { RoutingSummary } from '../../src/routing/summarize.js';
import { createDatabase, useCluster } from '../support/cluster.js';

/**
 * `carve plan` and `carve provision` as an operator runs them: subprocesses on the CareSync
 * monolith (seeded at scale 0.001) with plans/caresync.yaml (needs `npm run build`).
 */
const repo = join(new URL('.', import.meta.url).pathname, '..', '..');
const PLAN = join(repo, 'plans', 'caresync.yaml');
const DATABASES = [
  'auth_db',
  'patient_db',
  'clinical_db',
  'pharmacy_db',
  'laboratory_db',
  'appointment_db',
  'billing_db',
  'analytics_db',
  'shared_db',
];

let pg: LocalCluster;
let env: Record<string, string>;
let work: string;

function carve(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'carve.js'), ...args], {
      env: { ...process.env, ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

async function databases(): Promise<string[]> {
  return withClient(pg.url(), async (c) =>
    (
      await c.query<{ d: string }>(
        `SELECT datname AS d FROM pg_database WHERE datname LIKE '%\\_db' ORDER BY 1`,
      )
    ).rows.map((r) => r.d),
  );
}

beforeAll(async () => {
  pg = await useCluster({ name: 'caresync-cli' });
  const source = await createDatabase(pg, 'caresync');
  await seedMonolith({ url: source, scale: 0.001 });
  env = { MONOLITH_URL: source, TARGET_URL: pg.url() };
  work = mkdtempSync(join(tmpdir(), 'carve-caresync-'));
});

describe('carve plan on CareSync', () => {
  it('places every table but the excluded one in nine databases and lists the cut FKs', async () => {
    const run = await carve(['plan', '--plan', PLAN, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as RoutingSummary & { ok: boolean };
    expect(summary.ok).toBe(true);
    expect(summary.databases.map((d) => d.database)).toEqual(DATABASES);
    expect(summary.totals).toMatchObject({ databases: 9, tables: 57, projections: 4 });
    expect(summary.excluded).toEqual(['public.login_attempts']);
    expect(summary.totals.cutForeignKeys).toBeGreaterThan(40);
    expect(summary.cutForeignKeys).toContainEqual({
      name: 'patients_primary_hospital_id_fkey',
      from: { database: 'patient_db', table: 'public.patients', columns: ['primary_hospital_id'] },
      to: { database: 'shared_db', table: 'public.hospitals', columns: ['id'] },
    });
    const db = (name: string) => summary.databases.find((d) => d.database === name)!;
    expect(db('auth_db').tables.find((t) => t.target === 'public.users')).toMatchObject({
      source: 'public.profiles',
      dropped: ['legacy_password_md5'],
    });
    expect(db('patient_db').tables.find((t) => t.target === 'public.allergies')!.renamed).toEqual([
      { from: 'reaction_severity', to: 'severity' },
    ]);
    expect(db('pharmacy_db').tables.find((t) => t.target === 'public.inventory')!.source).toBe(
      'public.pharmacy_inventory',
    );
    expect(db('clinical_db').tables.find((t) => t.target === 'public.patient_demographics')).toMatchObject({
      kind: 'projection',
      columns: ['id', 'first_name', 'last_name', 'date_of_birth', 'sex'],
    });
    expect(db('shared_db').readonly).toBe(true);
    expect(db('analytics_db').tables[0]!.partitions).toBeGreaterThan(1);
    expect(summary.warnings.map((w) => w.code)).toContain('GENERATED_COLUMN');

    const text = await carve(['plan', '--plan', PLAN]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('foreign keys cut (checked by verify)');
    expect(text.stdout).toContain('Plan OK: 9 databases, 57 tables, 4 projections');
  });

  it('rejects a wrong plan with every problem located, exit code 2, before any write', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(PLAN, 'utf8')
        .replace('allergies: { from: patient_allergies,', 'allergies: { from: patient_alergies,')
        .replace('exclude: [login_attempts]', 'exclude: []')
        .replace(
          '      suppliers: {}\n',
          '      suppliers: {}\n      suppliers_again: { from: suppliers }\n',
        ),
    );
    const run = await carve(['provision', '--plan', bad, '--secrets-dir', join(work, 'secrets-bad')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('PLAN_UNKNOWN_TABLE at services.patient.tables.allergies.from');
    expect(run.stderr).toMatch(/bad\.yaml:\d+:\d+: PLAN_TABLE_OWNED_TWICE/);
    expect(await databases()).toEqual([]);

    const json = await carve(['plan', '--plan', bad, '--json']);
    expect(json.status).toBe(2);
    const problems = (JSON.parse(json.stdout) as { problems: PlanProblem[] }).problems;
    expect(problems.map((p) => [p.code, p.object])).toEqual(
      expect.arrayContaining([
        ['PLAN_UNKNOWN_TABLE', 'patient_alergies'],
        ['PLAN_TABLE_OWNED_TWICE', 'public.suppliers'],
        ['PLAN_TABLE_UNASSIGNED', 'public.login_attempts'],
        ['PLAN_TABLE_UNASSIGNED', 'public.patient_allergies'],
        ['PLAN_PROJECTION_SOURCE', 'public.patient_allergies'],
      ]),
    );
    expect(problems).toHaveLength(5);
  });
});

describe('carve provision on CareSync', () => {
  it('--dry-run writes the ordered SQL files and touches no target', async () => {
    const out = join(work, 'sql');
    const run = await carve(
      ['provision', '--plan', PLAN, '--dry-run', '--out', out, '--secrets-dir', join(work, 'secrets-dry')],
      {
        TARGET_URL: 'postgres://nobody@127.0.0.1:1/postgres',
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(20);
    expect(files.slice(0, 10)).toEqual([
      '00_roles.sql',
      '01_create_auth_schema.sql',
      '02_create_patient_schema.sql',
      '03_create_clinical_schema.sql',
      '04_create_pharmacy_schema.sql',
      '05_create_laboratory_schema.sql',
      '06_create_appointment_schema.sql',
      '07_create_billing_schema.sql',
      '08_create_analytics_schema.sql',
      '09_create_shared_schema.sql',
    ]);
    expect(files[10]).toBe('10_grants.sql');
    expect(files[19]).toBe('19_post_load_shared.sql');
    expect(readFileSync(join(out, '00_roles.sql'), 'utf8')).toContain("PASSWORD ''SCRAM-SHA-256$");
    expect(await databases()).toEqual([]);
  });

  it('creates nine databases with their tables and grants; a second run is a no-op', async () => {
    const secrets = join(work, 'secrets');
    const first = await carve(['provision', '--plan', PLAN, '--secrets-dir', secrets]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('Provisioned 9 databases');
    expect(await databases()).toEqual([...DATABASES].sort());
    const count = (db: string) =>
      withClient(pg.url(db), async (c) =>
        Number(
          (
            await c.query(
              `SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'analytics_data_%'`,
            )
          ).rows[0].n,
        ),
      );
    let total = 0;
    for (const db of DATABASES) total += await count(db);
    expect(total).toBe(57 + 4 + 9); // owned tables, projections, audit tables
    for (const file of readdirSync(secrets)) {
      const password = readFileSync(join(secrets, file), 'utf8').trim();
      expect(first.stdout).not.toContain(password);
    }

    const second = await carve([
      'provision',
      '--plan',
      PLAN,
      '--secrets-dir',
      secrets,
      '--with-indexes',
      '--json',
    ]);
    expect(second.status).toBe(0);
    const result = JSON.parse(second.stdout) as {
      created: unknown[];
      postLoad: { indexes: number; foreignKeys: number }[];
    };
    expect(result.created).toEqual([]);
    expect(result.postLoad.reduce((n, r) => n + r.foreignKeys, 0)).toBeGreaterThan(30);

    const client = await connect(pg.url('patient_db', 'auth_service')).catch((e: unknown) => e);
    expect(sqlStateOf(client)).toBe('42501');
    await withClient(pg.url('shared_db', 'billing_service'), async (c) => {
      await c.query('SELECT * FROM public.hospitals');
      await expect(c.query(`UPDATE public.hospitals SET name = 'x'`)).rejects.toMatchObject({
        code: '42501',
      });
    });
  });
});
