import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { loadOrder } from '../../src/routing/load-order.js';
import { routesForSource, serviceOf } from '../../src/routing/model.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

const monolith = catalogOf([
  tableOf('hospitals', ['id', 'name'], { pk: ['id'] }),
  tableOf('departments', ['id', 'hospital_id', 'parent_id'], {
    pk: ['id'],
    fks: [
      { columns: ['hospital_id'], references: 'hospitals' },
      { columns: ['parent_id'], references: 'departments' },
    ],
  }),
  tableOf(
    'profiles',
    ['id', 'department_id', 'legacy_password_md5', { name: 'bio', type: 'text', storage: 'x' }],
    {
      pk: ['id'],
      fks: [{ columns: ['department_id'], references: 'departments' }],
      toastBytes: 1 << 20,
      heapBytes: 8192,
      checks: [
        {
          name: 'md5_len',
          definition: 'CHECK (length(legacy_password_md5) = 32)',
          columns: ['legacy_password_md5'],
        },
      ],
      indexes: [
        {
          name: 'profiles_md5',
          referencedColumns: ['legacy_password_md5'],
          columns: ['legacy_password_md5'],
        },
      ],
    },
  ),
  tableOf('user_roles', ['user_id', 'role_id'], {
    pk: ['user_id', 'role_id'],
    fks: [
      { columns: ['user_id'], references: 'profiles' },
      { columns: ['role_id'], references: 'roles' },
    ],
  }),
  tableOf('roles', ['id'], { pk: ['id'] }),
  tableOf('patients', ['id', 'first_name', 'last_name', 'ssn', 'primary_doctor_id'], {
    pk: ['id'],
    fks: [{ columns: ['primary_doctor_id'], references: 'profiles' }],
  }),
  tableOf(
    'patient_allergies',
    [
      'id',
      'patient_id',
      'reaction_severity',
      {
        name: 'label',
        type: 'text',
        generated: 'upper(reaction_severity)',
        dependsOn: ['reaction_severity'],
      },
    ],
    { pk: ['id'], fks: [{ columns: ['patient_id'], references: 'patients' }] },
  ),
  tableOf('codes', ['code', 'label'], {
    riIndex: { name: 'codes_code_key', columns: ['code'] },
    unlogged: true,
  }),
  tableOf('metrics', ['id', 'at'], {
    pk: ['id', 'at'],
    partitions: [
      { schema: 'public', name: 'metrics_1' },
      { schema: 'public', name: 'metrics_2' },
    ],
  }),
  tableOf('metrics_1', ['id', 'at'], {
    pk: ['id', 'at'],
    kind: 'partition',
    parent: { schema: 'public', name: 'metrics' },
  }),
  tableOf('metrics_2', ['id', 'at'], {
    pk: ['id', 'at'],
    kind: 'partition',
    parent: { schema: 'public', name: 'metrics' },
  }),
  tableOf('login_attempts', ['at']),
  tableOf('a', ['id', 'b_id'], { pk: ['id'], fks: [{ columns: ['b_id'], references: 'b' }] }),
  tableOf('b', ['id', 'a_id'], { pk: ['id'], fks: [{ columns: ['a_id'], references: 'a' }] }),
  tableOf('c', ['id', 'gone_id'], {
    pk: ['id'],
    fks: [{ columns: ['gone_id'], references: 'login_attempts', referencedColumns: ['at'] }],
  }),
]);

const text = `
name: demo
source: postgres://u@mono/monolith
target: postgres://admin@targets:5432/postgres
schema_changes: add_nullable_columns
services:
  auth:
    database: auth_db
    audit_table: audit_log
    tables:
      user_roles: {}
      users: { from: profiles, drop: [legacy_password_md5] }
      departments: {}
      roles: {}
  patient:
    database: patient_db
    role: patient_app
    password_env: PATIENT_PW
    carve_role: patient_carve
    carve_password_env: PATIENT_CARVE_PW
    tables:
      patients: {}
      allergies: { from: patient_allergies, columns: { severity: { from: reaction_severity } } }
  misc:
    database: misc_db
    target: postgres://admin@other:6543/postgres
    tables: { codes: {}, metrics: {}, a: {}, b: {}, c: {} }
  shared:
    database: shared_db
    readonly: true
    tables: { hospitals: {} }
projections:
  - { from: patients, to: auth.patient_demographics, columns: [id, { given_name: first_name }, last_name] }
  - { from: hospitals, to: auth.hospitals }
exclude: [login_attempts]
`;

const routing = buildRouting(parsePlan(text, { env: {} }), monolith);
const service = (name: string) => routing.services.find((s) => s.name === name)!;
const route = (id: string) => routing.routes.find((r) => r.id === id)!;

describe('buildRouting', () => {
  it('names, urls, roles and schema-change policy', () => {
    expect(routing.names).toEqual({
      migration: 'demo',
      slot: 'carve_demo',
      publication: 'carve_demo',
      stateSchema: 'carve',
    });
    expect(routing.sourceUrl).toBe('postgres://u@mono/monolith');
    expect(routing.schemaChanges).toBe('apply_compatible');
    expect(service('auth')).toMatchObject({
      database: 'auth_db',
      role: 'auth_service',
      carveRole: 'carve_auth',
      url: 'postgres://carve_auth@targets:5432/auth_db',
      adminUrl: 'postgres://admin@targets:5432/auth_db',
      serverUrl: 'postgres://admin@targets:5432/postgres',
      readonly: false,
      auditTable: { schema: 'public', name: 'audit_log' },
    });
    expect(service('patient')).toMatchObject({
      role: 'patient_app',
      passwordEnv: 'PATIENT_PW',
      carveRole: 'patient_carve',
      carvePasswordEnv: 'PATIENT_CARVE_PW',
    });
    expect(service('misc').url).toBe('postgres://carve_misc@other:6543/misc_db');
    expect(service('misc').adminUrl).toBe('postgres://admin@other:6543/misc_db');
    expect(service('shared').readonly).toBe(true);
    expect(routing.excluded).toEqual([{ schema: 'public', name: 'login_attempts' }]);
  });

  it('places owned tables with renames and drops, in source column order', () => {
    const users = route('auth_db/public.users');
    expect(users).toMatchObject({
      kind: 'owned',
      service: 'auth',
      source: { schema: 'public', name: 'profiles' },
      target: { schema: 'public', name: 'users' },
      key: ['id'],
      readonly: false,
      droppedColumns: ['legacy_password_md5'],
    });
    expect(users.columns.map((c) => [c.source, c.target])).toEqual([
      ['id', 'id'],
      ['department_id', 'department_id'],
      ['bio', 'bio'],
    ]);
    const allergies = route('patient_db/public.allergies');
    expect(allergies.columns.map((c) => [c.source, c.target, c.generated])).toEqual([
      ['id', 'id', false],
      ['patient_id', 'patient_id', false],
      ['reaction_severity', 'severity', false],
      ['label', 'label', true],
    ]);
    expect(route('shared_db/public.hospitals').readonly).toBe(true);
    expect(serviceOf(routing, allergies).name).toBe('patient');
  });

  it('keys by replica-identity index when there is no primary key; partitions listed', () => {
    expect(route('misc_db/public.codes').key).toEqual(['code']);
    expect(route('misc_db/public.metrics')).toMatchObject({
      key: ['id', 'at'],
      sourcePartitions: [
        { schema: 'public', name: 'metrics_1' },
        { schema: 'public', name: 'metrics_2' },
      ],
    });
    expect(routing.routes.some((r) => r.source.name === 'metrics_1')).toBe(false);
  });

  it('projections: a readonly column subset with the owner key, owner first in routesForSource', () => {
    const demographics = route('auth_db/public.patient_demographics');
    expect(demographics).toMatchObject({
      kind: 'projection',
      service: 'auth',
      readonly: true,
      key: ['id'],
      source: { schema: 'public', name: 'patients' },
    });
    expect(demographics.columns.map((c) => [c.source, c.target])).toEqual([
      ['id', 'id'],
      ['first_name', 'given_name'],
      ['last_name', 'last_name'],
    ]);
    expect(route('auth_db/public.hospitals').columns.map((c) => c.target)).toEqual(['id', 'name']);
    expect(routesForSource(routing, { schema: 'public', name: 'patients' }).map((r) => r.id)).toEqual([
      'patient_db/public.patients',
      'auth_db/public.patient_demographics',
    ]);
    expect(routing.routes.findIndex((r) => r.kind === 'projection')).toBe(
      routing.routes.filter((r) => r.kind === 'owned').length,
    );
  });

  it('keeps FKs inside one database (target names) and cuts FKs that cross databases', () => {
    const auth = service('auth');
    expect(auth.keptForeignKeys.map((k) => [k.name, k.from.name, k.columns, k.to.name, k.toColumns])).toEqual(
      [
        ['user_roles_user_id_fkey', 'user_roles', ['user_id'], 'users', ['id']],
        ['user_roles_role_id_fkey', 'user_roles', ['role_id'], 'roles', ['id']],
        ['profiles_department_id_fkey', 'users', ['department_id'], 'departments', ['id']],
        ['departments_parent_id_fkey', 'departments', ['parent_id'], 'departments', ['id']],
      ],
    );
    expect(
      routing.cutForeignKeys.map((c) => [c.name, c.from.routeId, c.from.columns, c.to.routeId, c.to.columns]),
    ).toEqual([
      [
        'departments_hospital_id_fkey',
        'auth_db/public.departments',
        ['hospital_id'],
        'shared_db/public.hospitals',
        ['id'],
      ],
      [
        'patients_primary_doctor_id_fkey',
        'patient_db/public.patients',
        ['primary_doctor_id'],
        'auth_db/public.users',
        ['id'],
      ],
    ]);
    const patient = service('patient');
    expect(patient.keptForeignKeys.map((k) => [k.from.name, k.to.name])).toEqual([['allergies', 'patients']]);
  });

  it('orders loads topologically over kept FKs, self-references and cycles included', () => {
    expect(service('auth').loadOrder).toEqual([
      'auth_db/public.departments',
      'auth_db/public.users',
      'auth_db/public.roles',
      'auth_db/public.user_roles',
      'auth_db/public.patient_demographics',
      'auth_db/public.hospitals',
    ]);
    expect(service('patient').loadOrder).toEqual([
      'patient_db/public.patients',
      'patient_db/public.allergies',
    ]);
    expect(service('misc').loadOrder).toEqual([
      'misc_db/public.codes',
      'misc_db/public.metrics',
      'misc_db/public.c',
      'misc_db/public.a',
      'misc_db/public.b',
    ]);
    expect(
      loadOrder(
        ['x', 'y', 'z'],
        [
          { from: 'x', to: 'z' },
          { from: 'x', to: 'x' },
        ],
      ),
    ).toEqual({
      order: ['y', 'z', 'x'],
      cycle: [],
    });
  });

  it('warns about key-less tables, generated, TOAST-heavy and unlogged tables, lost objects, exclusions, cycles', () => {
    const codes = routing.warnings.map(
      (w) => `${w.code}:${w.table ? w.table.name : ''}${w.column ? `.${w.column}` : ''}`,
    );
    expect(codes).toEqual(
      expect.arrayContaining([
        'NO_PRIMARY_KEY:codes',
        'UNLOGGED_TABLE:codes',
        'GENERATED_COLUMN:patient_allergies.label',
        'TOAST_HEAVY:profiles.bio',
        'CHECK_NOT_MIGRATED:profiles',
        'INDEX_NOT_MIGRATED:profiles',
        'EXCLUDED_TABLE:login_attempts',
        'FK_NOT_MIGRATED:c',
        'FK_CYCLE:',
      ]),
    );
    expect(codes).toHaveLength(9);
  });

  it('is pure: the same input gives the same routing', () => {
    const again = buildRouting(parsePlan(text, { env: {} }), monolith);
    expect(JSON.stringify(again)).toBe(JSON.stringify(routing));
  });
});
