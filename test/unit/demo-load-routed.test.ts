import { describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import {
  destinationsFor,
  parseServiceUrls,
  rewriteForDestination,
  ServiceRoutedTables,
} from '../../src/demo/load/routed-tables.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

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
      patients: {}
      allergies: { from: patient_allergies, columns: { severity: { from: reaction_severity } } }
  clinical:
    database: clinical_db
    tables: { consultations: {} }
projections:
  - { from: patients, to: clinical.patient_names, columns: [id] }
`,
    { env: {} },
  ),
  catalogOf([
    tableOf('patients', ['id', 'phone'], { pk: ['id'] }),
    tableOf('patient_allergies', ['id', 'reaction_severity', 'is_active'], { pk: ['id'] }),
    tableOf('consultations', ['id', 'patient_id'], { pk: ['id'] }),
  ]),
);

describe('service-routed load', () => {
  it('rewrites a statement for a renamed table and column, leaving other words alone', () => {
    const d = destinationsFor(routing, new Map([['patient', 'postgres://p/patient_db']])).get(
      'patient_allergies',
    )!;
    expect(d).toMatchObject({ database: 'patient_db', table: { schema: 'public', name: 'allergies' } });
    expect(d.columns).toEqual({ reaction_severity: 'severity' });
    expect(
      rewriteForDestination(
        'UPDATE public.patient_allergies SET reaction_severity = $2, is_active = $3 WHERE id = $1',
        'patient_allergies',
        d,
      ),
    ).toBe('UPDATE "public"."allergies" SET "severity" = $2, is_active = $3 WHERE id = $1');
    expect(
      rewriteForDestination(
        'SELECT id FROM "public"."patient_allergies" WHERE id >= $1',
        'patient_allergies',
        d,
      ),
    ).toBe('SELECT id FROM "public"."allergies" WHERE id >= $1');
    // public.patient_allergies_x is another table: not rewritten.
    expect(rewriteForDestination('SELECT 1 FROM public.patient_allergies_x', 'patient_allergies', d)).toBe(
      'SELECT 1 FROM public.patient_allergies_x',
    );
  });

  it('routes only owned tables of moved services, and follows move/restore', () => {
    const tables = new ServiceRoutedTables(routing);
    expect(tables.router('patients')).toBeUndefined();
    tables.move('patient', 'postgres://p/patient_db');
    expect(tables.router('patients')?.database).toBe('patient_db');
    expect(tables.router('consultations')).toBeUndefined();
    expect(tables.services()).toEqual(['patient']);
    tables.restore('patient');
    expect(tables.router('patients')).toBeUndefined();
    expect(() => tables.move('nope', 'x')).toThrow();
  });

  it('reads --service-url values', () => {
    expect(parseServiceUrls(['patient=postgres://a@h/p?x=1,clinical', 'billing']).services).toEqual(
      new Map([
        ['patient', 'postgres://a@h/p?x=1'],
        ['clinical', null],
        ['billing', null],
      ]),
    );
    expect(parseServiceUrls(['=x', 'a b=c', 'p=']).invalid).toEqual(['=x', 'a b=c', 'p=']);
  });
});
