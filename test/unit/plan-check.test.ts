import { describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import { parsePlan } from '../../src/plan/load.js';
import type { PlanProblem } from '../../src/plan/problems.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

/**
 * Every semantic plan error against a hand-built monolith: code, path, object and details.
 */
const monolith = catalogOf([
  tableOf('profiles', ['id', 'email', 'legacy_password_md5', 'hospital_id'], {
    pk: ['id'],
    fks: [{ columns: ['hospital_id'], references: 'hospitals' }],
  }),
  tableOf('hospitals', ['id', 'name', 'code'], { pk: ['id'] }),
  tableOf(
    'patients',
    [
      'id',
      'first_name',
      'last_name',
      'ssn',
      {
        name: 'full_name',
        type: 'text',
        generated: "first_name || ' ' || last_name",
        dependsOn: ['first_name', 'last_name'],
      },
    ],
    { pk: ['id'] },
  ),
  tableOf('patient_allergies', ['id', 'patient_id', 'reaction_severity', 'severity_note'], {
    pk: ['id'],
    fks: [{ columns: ['patient_id'], references: 'patients' }],
  }),
  tableOf('login_attempts', ['at', 'who']),
  tableOf('full_only', ['a', 'b'], { replicaIdentity: 'full' }),
  tableOf('nothing_ri', ['id'], { pk: ['id'], replicaIdentity: 'nothing' }),
  tableOf('codes', ['code', 'label'], { riIndex: { name: 'codes_code_key', columns: ['code'] } }),
  tableOf('events', ['id', 'at'], {
    pk: ['id', 'at'],
    partitions: [{ schema: 'public', name: 'events_2024' }],
  }),
  tableOf('events_2024', ['id', 'at'], {
    pk: ['id', 'at'],
    kind: 'partition',
    parent: { schema: 'public', name: 'events' },
  }),
  tableOf('dup', ['id'], { pk: ['id'], schema: 'a' }),
  tableOf('dup', ['id'], { pk: ['id'], schema: 'b' }),
  tableOf(
    'shapes',
    [
      'id',
      { name: 'box', type: 'public.box3', userType: { schema: 'public', name: 'box3', kind: 'composite' } },
    ],
    {
      pk: ['id'],
    },
  ),
]);

const env = { SRC: 'postgres://u@src/mono', DST: 'postgres://u@dst/postgres' };

/** A valid plan; tests break one thing at a time (or several). */
const valid = `
source: \${SRC}
target: \${DST}
services:
  auth:
    database: auth_db
    tables:
      users: { from: profiles, drop: [legacy_password_md5] }
  patient:
    database: patient_db
    audit_table: patient_audit
    tables:
      patients: {}
      allergies: { from: patient_allergies, columns: { severity: { from: reaction_severity } } }
  analytics:
    database: analytics_db
    tables: { events: {}, codes: {}, a_dup: { from: dup, schema: a }, b_dup: { from: dup, schema: b }, shapes: { drop: [box] } }
  shared:
    database: shared_db
    readonly: true
    tables: { hospitals: {} }
projections:
  - { from: patients, to: auth.patient_names, columns: [id, first_name, last_name] }
exclude: [login_attempts, full_only, nothing_ri]
`;

function problemsOf(text: string): PlanProblem[] {
  try {
    buildRouting(parsePlan(text, { env, file: 'plan.yaml' }), monolith);
  } catch (error) {
    if (isCarveError(error, 'PLAN_INVALID')) return error.details.problems as PlanProblem[];
    throw error;
  }
  throw new Error('expected PLAN_INVALID');
}

const only = (problems: PlanProblem[], code: string) => problems.filter((p) => p.code === code);

describe('semantic plan checks', () => {
  it('accepts the valid plan', () => {
    const routing = buildRouting(parsePlan(valid, { env }), monolith);
    expect(routing.routes.length).toBe(10);
  });

  it('unknown table, with a suggestion, and ambiguous table', () => {
    const problems = problemsOf(
      valid
        .replace('patients: {}', 'patiens: {}')
        .replace('a_dup: { from: dup, schema: a }', 'a_dup: { from: dup }'),
    );
    const unknown = only(problems, 'PLAN_UNKNOWN_TABLE');
    expect(unknown).toEqual([
      expect.objectContaining({
        path: 'services.patient.tables.patiens',
        object: 'patiens',
        details: { table: 'patiens' },
      }),
    ]);
    expect(unknown[0]!.hint).toContain('patients');
    expect(unknown[0]!.line).toBe(13);
    expect(only(problems, 'PLAN_AMBIGUOUS_TABLE')).toEqual([
      expect.objectContaining({
        path: 'services.analytics.tables.a_dup.from',
        details: { table: 'dup', schemas: ['a', 'b'] },
      }),
    ]);
    // the misspelled and the ambiguous names also leave their tables unassigned
    expect(only(problems, 'PLAN_TABLE_UNASSIGNED').map((p) => p.object)).toEqual([
      'public.patients',
      'a.dup',
    ]);
  });

  it('unknown column in a rename, a drop and a projection', () => {
    const problems = problemsOf(
      valid
        .replace('from: reaction_severity', 'from: reaction_sev')
        .replace('drop: [legacy_password_md5]', 'drop: [legacy_password]')
        .replace('columns: [id, first_name, last_name]', 'columns: [id, first_name, surname]'),
    );
    expect(only(problems, 'PLAN_UNKNOWN_COLUMN').map((p) => [p.path, p.details])).toEqual([
      ['services.auth.tables.users.drop[0]', { table: 'public.profiles', column: 'legacy_password' }],
      [
        'services.patient.tables.allergies.columns.severity.from',
        { table: 'public.patient_allergies', column: 'reaction_sev' },
      ],
      ['projections[0].columns[2]', { table: 'public.patients', column: 'surname' }],
    ]);
  });

  it('table owned twice, excluded and owned, unassigned, partition placed', () => {
    const problems = problemsOf(
      valid
        .replace('hospitals: {}', 'hospitals: {}, hospitals_copy: { from: hospitals }, events_2024: {}')
        .replace(
          'exclude: [login_attempts, full_only, nothing_ri]',
          'exclude: [hospitals, full_only, nothing_ri]',
        ),
    );
    expect(only(problems, 'PLAN_TABLE_OWNED_TWICE')).toEqual([
      expect.objectContaining({
        path: 'services.shared.tables.hospitals_copy.from',
        object: 'public.hospitals',
        details: {
          table: 'public.hospitals',
          services: ['shared', 'shared'],
          paths: ['services.shared.tables.hospitals', 'services.shared.tables.hospitals_copy'],
        },
      }),
    ]);
    expect(only(problems, 'PLAN_TABLE_EXCLUDED_AND_OWNED')).toEqual([
      expect.objectContaining({
        path: 'exclude[0]',
        details: { table: 'public.hospitals', service: 'shared' },
      }),
    ]);
    expect(only(problems, 'PLAN_TABLE_UNASSIGNED')).toEqual([
      expect.objectContaining({
        object: 'public.login_attempts',
        details: { table: 'public.login_attempts' },
      }),
    ]);
    expect(only(problems, 'PLAN_PARTITION_PLACED')).toEqual([
      expect.objectContaining({ details: { table: 'public.events_2024', parent: 'public.events' } }),
    ]);
  });

  it('generated names longer than 63 bytes', () => {
    const long = 'x'.repeat(60);
    const problems = problemsOf(
      `name: ${long}\n` +
        valid
          .replace('  auth:\n', `  ${'a'.repeat(60)}:\n`)
          .replace('allergies: { from', `${'é'.repeat(32)}: { from`)
          .replace('severity: { from', `${'s'.repeat(64)}: { from`)
          .replace('auth.patient_names', `${'a'.repeat(60)}.patient_names`),
    );
    const tooLong = only(problems, 'PLAN_NAME_TOO_LONG');
    expect(tooLong.map((p) => [p.details.kind, p.details.bytes, p.path])).toEqual([
      ['replication slot', 66, 'name'],
      ['publication', 66, 'name'],
      ['role', 68, `services.${'a'.repeat(60)}.role`],
      ['role', 66, `services.${'a'.repeat(60)}.carve_role`],
      ['table', 64, `services.patient.tables["${'é'.repeat(32)}"]`],
      ['column', 64, `services.patient.tables["${'é'.repeat(32)}"].columns.${'s'.repeat(64)}`],
    ]);
    expect(tooLong[0]).toMatchObject({ object: `carve_${long}`, line: 1 });
  });

  it('moving table with no usable key: no PK, FULL only, NOTHING', () => {
    const problems = problemsOf(
      valid
        .replace('exclude: [login_attempts, full_only, nothing_ri]', 'exclude: []')
        .replace('hospitals: {}', 'hospitals: {}, login_attempts: {}, full_only: {}, nothing_ri: {}'),
    );
    const noKey = only(problems, 'PLAN_NO_USABLE_KEY');
    expect(noKey.map((p) => [p.object, p.details.replicaIdentity])).toEqual([
      ['public.login_attempts', 'default'],
      ['public.full_only', 'full'],
      ['public.nothing_ri', 'nothing'],
    ]);
    expect(noKey[0]!.path).toBe('services.shared.tables.login_attempts');
    expect(noKey[1]!.details.reason).toMatch(/REPLICA IDENTITY FULL/);
  });

  it('column rename collisions', () => {
    const problems = problemsOf(
      valid.replace(
        'columns: { severity: { from: reaction_severity } }',
        'columns: { severity_note: { from: reaction_severity }, x: { from: id }, y: { from: id }, z: { from: patient_id } }, drop: [patient_id]',
      ),
    );
    const collisions = only(problems, 'PLAN_COLUMN_COLLISION');
    expect(collisions.map((p) => p.details)).toEqual([
      expect.objectContaining({
        column: 'y',
        sources: ['id'],
        reason: 'column id is renamed twice (to x and y)',
      }),
      expect.objectContaining({ column: 'z', sources: ['patient_id'] }),
      expect.objectContaining({ column: 'severity_note', sources: ['reaction_severity', 'severity_note'] }),
    ]);
    expect(collisions[2]!.path).toBe('services.patient.tables.allergies.columns.severity_note.from');
  });

  it('projection with missing key columns, unknown service, unplaced or same-database source', () => {
    const problems = problemsOf(
      valid.replace(
        '  - { from: patients, to: auth.patient_names, columns: [id, first_name, last_name] }',
        [
          '  - { from: patients, to: auth.patient_names, columns: [first_name, last_name] }',
          '  - { from: patients, to: billing.patients }',
          '  - { from: login_attempts, to: auth.attempts }',
          '  - { from: patients, to: patient.patients_again }',
        ].join('\n'),
      ),
    );
    expect(only(problems, 'PLAN_PROJECTION_KEY_MISSING')).toEqual([
      expect.objectContaining({
        path: 'projections[0].columns',
        object: 'public.patients',
        details: { table: 'public.patients', missing: ['id'], key: ['id'] },
      }),
    ]);
    expect(only(problems, 'PLAN_UNKNOWN_SERVICE')).toEqual([
      expect.objectContaining({
        path: 'projections[1].to',
        details: { service: 'billing', known: ['auth', 'patient', 'analytics', 'shared'] },
      }),
    ]);
    expect(only(problems, 'PLAN_PROJECTION_SOURCE').map((p) => p.details.reason)).toEqual([
      'not placed',
      'same database',
    ]);
  });

  it('two projected columns with one name', () => {
    const problems = problemsOf(
      valid.replace(
        'columns: [id, first_name, last_name]',
        'columns: [id, first_name, { first_name: last_name }]',
      ),
    );
    expect(only(problems, 'PLAN_COLUMN_COLLISION')).toEqual([
      expect.objectContaining({
        path: 'projections[0].columns[2]',
        details: {
          table: 'public.patients',
          column: 'first_name',
          sources: ['first_name', 'last_name'],
          reason: 'projection',
        },
      }),
    ]);
  });

  it('a target table name used twice in one database', () => {
    const problems = problemsOf(
      valid
        .replace('to: auth.patient_names', 'to: auth.users')
        .replace('audit_table: patient_audit', 'audit_table: patients'),
    );
    expect(only(problems, 'PLAN_DUPLICATE_TARGET_TABLE').map((p) => [p.path, p.details])).toEqual([
      [
        'projections[0].to',
        {
          database: 'auth_db',
          table: 'public.users',
          uses: ['table from public.profiles', 'projection of public.patients'],
        },
      ],
      [
        'services.patient.audit_table',
        {
          database: 'patient_db',
          table: 'public.patients',
          uses: ['table from public.patients', 'the audit table'],
        },
      ],
    ]);
  });

  it('a dropped column still needed by a generated column, the key, or a foreign key', () => {
    const problems = problemsOf(
      valid
        .replace('patients: {}', 'patients: { drop: [first_name] }')
        .replace('codes: {}', 'codes: { drop: [code] }')
        .replace('hospitals: {}', 'hospitals: { drop: [id] }'),
    );
    const needed = only(problems, 'PLAN_DROPPED_COLUMN_NEEDED');
    expect(needed.map((p) => [p.object, p.details.neededBy])).toEqual(
      expect.arrayContaining([
        ['public.patients.first_name', ['generated column full_name']],
        ['public.codes.code', ['the row key (replica identity index)']],
        ['public.hospitals.id', ['the row key (primary key)']],
        ['public.hospitals.id', ['foreign key profiles_hospital_id_fkey']],
      ]),
    );
    expect(needed).toHaveLength(4);
  });

  it('a service without tables or projections; one fed only by a projection is fine', () => {
    const problems = problemsOf(
      valid.replace('  shared:\n', '  empty:\n    database: empty_db\n  shared:\n'),
    );
    expect(only(problems, 'PLAN_SERVICE_EMPTY')).toEqual([
      expect.objectContaining({
        path: 'services.empty',
        object: 'empty',
        line: 18,
        details: { service: 'empty', database: 'empty_db' },
        hint: expect.stringContaining('services.empty.tables'),
      }),
    ]);
    // Only the projection's service: its `tables: {}` is fine, the projection fills it.
    const fed = valid
      .replace('  shared:\n', '  names:\n    database: names_db\n    tables: {}\n  shared:\n')
      .replace('to: auth.patient_names', 'to: names.patient_names');
    expect(buildRouting(parsePlan(fed, { env }), monolith).services.map((s) => s.name)).toContain('names');
  });

  it('database or role reused by two services on one server; per-service target makes it distinct', () => {
    const problems = problemsOf(
      valid.replace('database: analytics_db', 'database: auth_db\n    role: auth_service'),
    );
    expect(only(problems, 'PLAN_DUPLICATE_DATABASE')).toEqual([
      expect.objectContaining({
        path: 'services.analytics.database',
        details: { database: 'auth_db', services: ['auth', 'analytics'] },
      }),
    ]);
    expect(only(problems, 'PLAN_DUPLICATE_ROLE')).toEqual([
      expect.objectContaining({ details: { role: 'auth_service', services: ['auth', 'analytics'] } }),
    ]);
    expect(() =>
      buildRouting(
        parsePlan(
          valid.replace(
            'database: analytics_db',
            'database: auth_db\n    target: postgres://u@elsewhere/postgres',
          ),
          { env },
        ),
        monolith,
      ),
    ).not.toThrow();
  });

  it('a column of a user-defined composite type', () => {
    const problems = problemsOf(valid.replace('shapes: { drop: [box] }', 'shapes: {}'));
    expect(only(problems, 'PLAN_UNSUPPORTED_TYPE')).toEqual([
      expect.objectContaining({
        details: { table: 'public.shapes', column: 'box', type: 'public.box3', kind: 'composite' },
      }),
    ]);
  });

  it('reports all problems of one file together, each located', () => {
    const problems = problemsOf(
      valid
        .replace('patients: {}', 'patiens: {}')
        .replace('from: reaction_severity', 'from: nope')
        .replace('to: auth.patient_names', 'to: nobody.patient_names')
        .replace('login_attempts, ', ''),
    );
    expect(new Set(problems.map((p) => p.code))).toEqual(
      new Set(['PLAN_UNKNOWN_TABLE', 'PLAN_UNKNOWN_COLUMN', 'PLAN_UNKNOWN_SERVICE', 'PLAN_TABLE_UNASSIGNED']),
    );
    for (const p of problems) {
      expect(p.path).not.toBe('');
      expect(p.hint.length).toBeGreaterThan(5);
    }
    expect(problems.filter((p) => p.line === undefined).map((p) => p.code)).toEqual([]);
  });
});
