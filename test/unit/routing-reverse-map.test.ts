import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { reverseMapOf, reverseTableFor, toMonolithRow } from '../../src/routing/reverse-map.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

const monolith = catalogOf([
  tableOf('patients', ['id', 'first_name', 'ssn_legacy', 'dept_id'], { pk: ['id'] }),
  tableOf(
    'patient_allergies',
    [
      'aid',
      'patient_id',
      'reaction_severity',
      {
        name: 'label',
        type: 'text',
        generated: 'upper(reaction_severity)',
        dependsOn: ['reaction_severity'],
      },
    ],
    { pk: ['aid'], fks: [{ columns: ['patient_id'], references: 'patients' }] },
  ),
  tableOf('metrics', ['id', 'at'], {
    pk: ['id', 'at'],
    partitions: [{ schema: 'public', name: 'metrics_1' }],
  }),
  tableOf('metrics_1', ['id', 'at'], {
    pk: ['id', 'at'],
    kind: 'partition',
    parent: { schema: 'public', name: 'metrics' },
  }),
  tableOf('users', ['id', 'name'], { pk: ['id'] }),
]);

const routing = buildRouting(
  parsePlan(
    `
name: demo
source: postgres://u@mono/monolith
target: postgres://admin@targets:5432/postgres
services:
  patient:
    database: patient_db
    tables:
      allergies: { from: patient_allergies, columns: { pid: { from: patient_id }, severity: { from: reaction_severity } } }
      people: { from: patients, drop: [ssn_legacy], columns: { given_name: { from: first_name } } }
      metrics: {}
  auth:
    database: auth_db
    tables: { users: {} }
projections:
  - { from: users, to: patient.user_names, columns: [id, name] }
`,
    { env: {} },
  ),
  monolith,
);

describe('reverseMapOf', () => {
  const map = reverseMapOf(routing, 'patient');

  it('maps only owned tables, in load order (referenced first)', () => {
    expect(map.database).toBe('patient_db');
    expect(map.tables.map((t) => t.serviceTable.name)).toEqual(
      expect.arrayContaining(['people', 'allergies', 'metrics']),
    );
    expect(map.tables.map((t) => t.serviceTable.name)).not.toContain('user_names');
    const names = map.tables.map((t) => t.serviceTable.name);
    expect(names.indexOf('people')).toBeLessThan(names.indexOf('allergies'));
  });

  it('undoes renames, skips generated columns, lists dropped ones as untouched', () => {
    const allergies = map.tables.find((t) => t.serviceTable.name === 'allergies')!;
    expect(allergies.monolithTable).toEqual({ schema: 'public', name: 'patient_allergies' });
    expect(allergies.columns.map((c) => [c.service, c.monolith])).toEqual([
      ['aid', 'aid'],
      ['pid', 'patient_id'],
      ['severity', 'reaction_severity'],
    ]);
    expect(allergies.generated).toEqual(['label']);
    const people = map.tables.find((t) => t.serviceTable.name === 'people')!;
    expect(people.untouched).toEqual(['ssn_legacy']);
    expect(people.key).toEqual({ service: ['id'], monolith: ['id'] });
    expect(toMonolithRow(people, { id: 1, given_name: 'Ann', dept_id: 3, extra: 1 })).toEqual({
      id: 1,
      first_name: 'Ann',
      dept_id: 3,
    });
  });

  it('finds a table by its service name or one of its partitions', () => {
    expect(reverseTableFor(map, { schema: 'public', name: 'metrics_1' })?.monolithTable.name).toBe('metrics');
    expect(reverseTableFor(map, { schema: 'public', name: 'people' })?.monolithTable.name).toBe('patients');
    expect(reverseTableFor(map, { schema: 'public', name: 'user_names' })).toBeUndefined();
    expect(() => reverseMapOf(routing, 'nope')).toThrow();
  });
});
