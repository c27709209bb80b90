import { describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import { reverseStreamName } from '../../src/reverse/names.js';
import { checkReversePreconditions } from '../../src/reverse/preflight.js';
import type { Routing, ServiceRoute, TableRoute } from '../../src/routing/model.js';

describe('reverse stream names', () => {
  it('are carve_<migration>_rev_<service>, valid slot names, distinct when shortened', () => {
    expect(reverseStreamName('caresync', { name: 'patient' })).toBe('carve_caresync_rev_patient');
    const odd = reverseStreamName('m', { name: 'Billing-EU' });
    expect(odd).toMatch(/^[a-z0-9_]{1,63}$/);
    const a = reverseStreamName('m', { name: 'x'.repeat(80) + 'a' });
    const b = reverseStreamName('m', { name: 'x'.repeat(80) + 'b' });
    expect(a).toMatch(/^[a-z0-9_]{1,63}$/);
    expect(a).not.toBe(b);
  });
});

describe('reverse preflight', () => {
  const column = (name: string, extra: object = {}) => ({
    name,
    attnum: 1,
    type: 'text',
    typeOid: 25,
    notNull: false,
    storage: 'x' as const,
    ...extra,
  });
  const routing = (dropped: object): Routing => {
    const route = {
      kind: 'owned',
      service: 'patient',
      source: { schema: 'public', name: 'people' },
      droppedColumns: ['a', 'b', 'c', 'd'],
      sourceTable: {
        columns: [
          column('id', { notNull: true }),
          column('a', { notNull: true, default: "'x'::text" }),
          column('b'),
          column('c', { notNull: true, identity: 'by default' }),
          column('d', dropped),
        ],
      },
    } as unknown as TableRoute;
    return { routes: [route], services: [] } as unknown as Routing;
  };
  const service = { name: 'patient', database: 'patient_db' } as ServiceRoute;

  it('accepts dropped columns that are nullable, defaulted or identity', () => {
    expect(() => checkReversePreconditions(routing({}), service)).not.toThrow();
  });

  it('refuses a dropped NOT NULL column without default, naming it', () => {
    let error: unknown;
    try {
      checkReversePreconditions(routing({ notNull: true }), service);
    } catch (e) {
      error = e;
    }
    expect(isCarveError(error, 'REVERSE_DROPPED_NOT_NULL')).toBe(true);
    expect(isCarveError(error, 'REVERSE_DROPPED_NOT_NULL') && error.details.columns).toEqual([
      { table: 'public.people', column: 'd' },
    ]);
  });
});
