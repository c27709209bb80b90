import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import { loadPlan, parsePlan } from '../../src/plan/load.js';
import { migrationNames } from '../../src/plan/model.js';
import { interpolateString } from '../../src/plan/interpolate.js';
import type { PlanProblem } from '../../src/plan/problems.js';

const env = {
  MONOLITH_URL: 'postgres://carve@db:5432/caresync',
  TARGET_URL: 'postgres://carve@db2:5432/postgres',
};

const minimal = `
source: \${MONOLITH_URL}
target: \${TARGET_URL}
services:
  auth:
    database: auth_db
    tables:
      users: { from: profiles, drop: [legacy_password_md5] }
      user_roles: {}
  patient:
    database: patient_db
    role: patient_app
    password_env: PATIENT_DB_PASSWORD
    target: postgres://other:5433/postgres
    audit_table: patient_audit
    tables:
      patients:
      allergies: { from: patient_allergies, columns: { severity: { from: reaction_severity } } }
      insurance_info: { columns: { payer: payer_id } }
  shared:
    database: shared_db
    readonly: true
    tables: { hospitals: {} }
projections:
  - { from: patients, to: auth.patient_names, columns: [id, { given_name: first_name }] }
exclude: [login_attempts, { schema: legacy, table: old_stuff }]
`;

function problemsOf(fn: () => unknown): PlanProblem[] {
  try {
    fn();
  } catch (error) {
    if (isCarveError(error, 'PLAN_INVALID')) return error.details.problems as PlanProblem[];
    throw error;
  }
  throw new Error('expected PLAN_INVALID');
}

describe('parsePlan', () => {
  it('normalizes a valid plan: defaults, renames, shorthands, per-service target', () => {
    const plan = parsePlan(minimal, { env, file: '/plans/CareSync.yaml' });
    expect(plan.name).toBe('caresync');
    expect(plan.source).toBe(env.MONOLITH_URL);
    expect(plan.schemaChanges).toBe('apply_compatible');
    expect(plan.services.map((s) => s.name)).toEqual(['auth', 'patient', 'shared']);
    const [auth, patient, shared] = plan.services;
    expect(auth).toMatchObject({
      database: 'auth_db',
      role: 'auth_service',
      readonly: false,
      target: env.TARGET_URL,
    });
    expect(auth!.tables[0]).toMatchObject({
      name: 'users',
      from: 'profiles',
      drop: [{ name: 'legacy_password_md5', path: 'services.auth.tables.users.drop[0]' }],
    });
    expect(auth!.tables[1]).toMatchObject({ name: 'user_roles', from: 'user_roles', columns: [], drop: [] });
    expect(patient).toMatchObject({
      role: 'patient_app',
      passwordEnv: 'PATIENT_DB_PASSWORD',
      target: 'postgres://other:5433/postgres',
      auditTable: 'patient_audit',
    });
    expect(patient!.tables[1]!.columns).toEqual([
      {
        target: 'severity',
        from: 'reaction_severity',
        path: 'services.patient.tables.allergies.columns.severity.from',
      },
    ]);
    expect(patient!.tables[2]!.columns[0]).toMatchObject({ target: 'payer', from: 'payer_id' });
    expect(shared!.readonly).toBe(true);
    expect(plan.projections).toEqual([
      {
        from: 'patients',
        service: 'auth',
        table: 'patient_names',
        columns: [
          { name: 'id', target: 'id', path: 'projections[0].columns[0]' },
          { name: 'first_name', target: 'given_name', path: 'projections[0].columns[1]' },
        ],
        path: 'projections[0]',
      },
    ]);
    expect(plan.exclude).toEqual([
      { name: 'login_attempts', path: 'exclude[0]' },
      { name: 'old_stuff', schema: 'legacy', path: 'exclude[1]' },
    ]);
    expect(plan.locations['services.patient.tables.allergies']).toEqual({ line: 18, column: 7 });
  });

  it('derives slot, publication and state schema names from the migration name', () => {
    expect(migrationNames('caresync')).toEqual({
      migration: 'caresync',
      slot: 'carve_caresync',
      publication: 'carve_caresync',
      stateSchema: 'carve',
    });
    const named = parsePlan(`name: hospital_v2\n${minimal}`, { env, file: 'x.yaml' });
    expect(named.name).toBe('hospital_v2');
    expect(parsePlan(minimal, { env, file: '/tmp/My Plan-2.yml' }).name).toBe('my_plan_2');
  });

  it('rejects a migration name unusable as a slot name', () => {
    const problems = problemsOf(() => parsePlan(`name: Care-Sync\n${minimal}`, { env }));
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'PLAN_INVALID_NAME',
        path: 'name',
        details: { name: 'Care-Sync' },
        line: 1,
      }),
    ]);
  });
});

describe('interpolation', () => {
  it('substitutes ${VAR}, keeps $${ literal, reports each unset variable with its path', () => {
    expect(interpolateString('a ${X} b $${X} ${Y}', { X: '1', Y: '2' })).toEqual({
      value: 'a 1 b ${X} 2',
      missing: [],
    });
    expect(interpolateString('${NOPE}', {}).missing).toEqual(['NOPE']);
    const problems = problemsOf(() =>
      parsePlan(minimal.replace('auth_db', 'auth_${DB_SUFFIX}'), { env: {} }),
    );
    expect(problems.map((p) => [p.code, p.path, p.details.variable])).toEqual([
      ['PLAN_MISSING_ENV', 'source', 'MONOLITH_URL'],
      ['PLAN_MISSING_ENV', 'target', 'TARGET_URL'],
      ['PLAN_MISSING_ENV', 'services.auth.database', 'DB_SUFFIX'],
    ]);
    expect(problems[0]).toMatchObject({ line: 2, column: 1 });
  });

  it('uses process.env by default and interpolates from the file on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carve-plan-'));
    const file = join(dir, 'demo.yaml');
    // PLAN_UNREADABLE's hint (check the --plan path), followed: the file at the right path loads.
    const unreadable = await loadPlan(join(dir, 'demo.yml')).catch((e: unknown) => e);
    expect(unreadable).toMatchObject({
      code: 'PLAN_UNREADABLE',
      hint: expect.stringContaining('--plan path'),
    });
    writeFileSync(file, minimal);
    process.env.MONOLITH_URL = env.MONOLITH_URL;
    process.env.TARGET_URL = env.TARGET_URL;
    try {
      const plan = await loadPlan(file);
      expect(plan).toMatchObject({ name: 'demo', file, target: env.TARGET_URL });
    } finally {
      delete process.env.MONOLITH_URL;
      delete process.env.TARGET_URL;
    }
    await expect(loadPlan(join(dir, 'missing.yaml'))).rejects.toMatchObject({ code: 'PLAN_UNREADABLE' });
  });
});

describe('schema errors, all reported at once with their path and position', () => {
  it('reports unknown keys at every level with a suggestion', () => {
    const text = minimal
      .replace('services:', 'servces: {}\nservices:')
      .replace('role: patient_app', 'rol: patient_app')
      .replace('{ from: profiles,', '{ form: profiles,')
      .replace('{ from: reaction_severity }', '{ fro: reaction_severity }');
    const problems = problemsOf(() => parsePlan(text, { env }));
    const unknown = problems.filter((p) => p.code === 'PLAN_UNKNOWN_KEY');
    expect(unknown.map((p) => [p.path, p.details.key])).toEqual([
      ['servces', 'servces'],
      ['services.auth.tables.users.form', 'form'],
      ['services.patient.rol', 'rol'],
      ['services.patient.tables.allergies.columns.severity.fro', 'fro'],
    ]);
    expect(unknown[0]).toMatchObject({ line: 4, column: 1 });
    expect(unknown[0]!.hint).toContain('"services"');
    expect(unknown[2]!.details.allowed).toContain('role');
    // the renamed column also lost its required `from`
    expect(problems.map((p) => p.code)).toContain('PLAN_MISSING_KEY');
  });

  it('PLAN_INVALID: the key its problem hint suggests, used instead, makes the plan valid', () => {
    const text = minimal.replace('role: patient_app', 'rol: patient_app');
    let error: unknown;
    try {
      parsePlan(text, { env, file: 'plan.yaml' });
    } catch (e) {
      error = e;
    }
    expect(isCarveError(error, 'PLAN_INVALID')).toBe(true);
    const [problem] = (error as { details: { problems: PlanProblem[] } }).details.problems;
    const suggested = /Did you mean "([^"]+)"\?/.exec(problem!.hint)?.[1];
    expect(suggested, problem!.hint).toBe('role');
    const fixed = text.replace(`${String(problem!.details.key)}:`, `${suggested}:`);
    expect(parsePlan(fixed, { env }).services.find((s) => s.name === 'patient')?.role).toBe('patient_app');
  });

  it('reports missing keys and invalid values', () => {
    const text = `
target: mysql://nope
schema_changes: sometimes
services:
  auth:
    tables: { users: { drop: users } }
projections:
  - { from: patients, to: nodot }
`;
    const problems = problemsOf(() => parsePlan(text, { env }));
    expect(problems.map((p) => [p.code, p.path])).toEqual([
      ['PLAN_MISSING_KEY', 'source'],
      ['PLAN_INVALID_VALUE', 'target'],
      ['PLAN_INVALID_VALUE', 'schema_changes'],
      ['PLAN_MISSING_KEY', 'services.auth.database'],
      ['PLAN_INVALID_VALUE', 'services.auth.tables.users.drop'],
      ['PLAN_INVALID_VALUE', 'projections[0].to'],
    ]);
    expect(problems[0]!.details).toEqual({ key: 'source', expected: 'string' });
    expect(problems[1]).toMatchObject({ line: 2, details: { zodCode: 'custom' } });
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    const bad = problemsOf(() => parsePlan('source: [unclosed\ntarget: x\n', { env }));
    expect(bad[0]).toMatchObject({ code: 'PLAN_YAML_SYNTAX' });
    expect(bad[0]!.line).toBeGreaterThanOrEqual(1);
    const dup = problemsOf(() =>
      parsePlan(minimal.replace('      user_roles: {}', '      user_roles: {}\n      user_roles: {}'), {
        env,
      }),
    );
    expect(dup).toEqual([expect.objectContaining({ code: 'PLAN_DUPLICATE_KEY', line: 10 })]);
    expect(problemsOf(() => parsePlan('- a\n- b\n', { env }))[0]!.code).toBe('PLAN_INVALID_VALUE');
  });

  it('throws one CarveError whose message lists every problem', () => {
    try {
      parsePlan('source: x\n', { env, file: 'p.yaml' });
      expect.unreachable();
    } catch (error) {
      expect(isCarveError(error, 'PLAN_INVALID')).toBe(true);
      const e = error as Error & { details: { problems: PlanProblem[]; file: string } };
      expect(e.details.file).toBe('p.yaml');
      expect(e.details.problems.length).toBe(3);
      for (const p of e.details.problems) expect(e.message).toContain(p.path);
    }
  });
});
