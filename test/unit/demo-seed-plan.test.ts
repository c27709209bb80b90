import { describe, expect, it } from 'vitest';
import { CARESYNC_TABLES, caresyncServiceOf } from '../../src/demo/caresync-tables.js';
import { analyticsPartitions, analyticsRange } from '../../src/demo/date-range.js';
import { parseDuration } from '../../src/demo/load/duration.js';
import { operationChooser } from '../../src/demo/load/operation-mix.js';
import { OPERATION_KINDS } from '../../src/demo/load/load-types.js';
import { Prng } from '../../src/demo/load/prng.js';
import {
  scratchConstants,
  scratchFunctionsDdl,
  resolveScratch,
} from '../../src/demo/seed/scratch-functions.js';
import { seedsInLoadOrder } from '../../src/demo/seed/seed-order.js';
import { insertSql } from '../../src/demo/seed/table-seed.js';
import { isScaledTable, paidClaims, seedVolumes, totalRows } from '../../src/demo/seed/volumes.js';
import { isCarveError } from '../../src/errors.js';

describe('CareSync table catalogue', () => {
  it('lists 58 distinct tables over nine services plus the one excluded table', () => {
    expect(CARESYNC_TABLES).toHaveLength(58);
    const services = new Set(CARESYNC_TABLES.map((t) => t.service));
    expect(services.size).toBe(10);
    expect(CARESYNC_TABLES.filter((t) => t.service === 'excluded').map((t) => t.name)).toEqual([
      'login_attempts',
    ]);
    expect(caresyncServiceOf('patient_allergies')).toBe('patient');
    expect(caresyncServiceOf('insurance_info')).toBe('patient');
    expect(caresyncServiceOf('departments')).toBe('auth');
    expect(caresyncServiceOf('nope')).toBeUndefined();
  });

  it('partitions analytics_data by month over two years, plus a default', () => {
    const parts = analyticsPartitions();
    expect(parts).toHaveLength(25);
    expect(parts[0]).toEqual({
      name: 'analytics_data_2023_01',
      from: '2023-01-01 00:00:00+00',
      to: '2023-02-01 00:00:00+00',
    });
    expect(parts[23]!.to).toBe('2025-01-01 00:00:00+00');
    expect(parts[24]).toEqual({ name: 'analytics_data_default' });
    expect(analyticsRange()).toEqual({ from: '2023-01-01 00:00:00+00', to: '2025-01-01 00:00:00+00' });
  });
});

describe('seed volumes', () => {
  it('reproduces the reference volumes at scale 1', () => {
    const v = seedVolumes(1);
    expect(v).toMatchObject({
      profiles: 100_000,
      patients: 1_000_000,
      consultations: 5_000_000,
      prescriptions: 2_000_000,
      lab_orders: 3_000_000,
      appointments: 500_000,
      claims: 1_000_000,
      hospitals: 200,
    });
    expect(totalRows(v)).toBeGreaterThan(10_000_000);
  });

  it('scales the scaled tables proportionally and keeps reference tables fixed', () => {
    const a = seedVolumes(0.001);
    const b = seedVolumes(0.003);
    for (const t of CARESYNC_TABLES) {
      if (isScaledTable(t.name)) expect(Math.abs(b[t.name]! - 3 * a[t.name]!), t.name).toBeLessThanOrEqual(3);
      else expect(b[t.name], t.name).toBe(a[t.name]);
    }
    expect(Object.keys(a).sort()).toEqual(CARESYNC_TABLES.map((t) => t.name).sort());
  });

  it('derives the dependent counts exactly', () => {
    const v = seedVolumes(0.0123);
    expect(v.user_roles).toBe(v.profiles! + Math.floor(v.profiles! / 5));
    expect(v.insurance_info).toBe(v.patients! + Math.round(v.patients! / 10));
    expect(v.invoice_items).toBe(2 * v.invoices!);
    expect(v.invoices).toBeGreaterThanOrEqual(v.claims!);
    expect(paidClaims(23)).toBe(2 * 7 + 3);
    expect(paidClaims(29)).toBe(2 * 7 + 7);
    // Tiny scales keep enough staff for every staff type.
    expect(seedVolumes(0.00001).hospital_staff).toBe(10);
  });

  it('rejects scales out of range with the scale in the details', () => {
    for (const scale of [0, -1, 101, Number.NaN]) {
      let error: unknown;
      try {
        seedVolumes(scale);
      } catch (e) {
        error = e;
      }
      expect(isCarveError(error, 'DEMO_BAD_SCALE')).toBe(true);
      expect((error as { details: { scale: number } }).details.scale).toBe(scale);
      // The hint's scales are accepted.
      const suggested = [...(error as Error & { hint: string }).hint.matchAll(/--scale (\S+?)[ ,]/g)];
      expect(suggested.map((m) => m[1])).toEqual(['0.001', '1']);
      for (const m of suggested) expect(seedVolumes(Number(m[1])).hospital_staff).toBeGreaterThan(0);
    }
  });
});

describe('seed SQL', () => {
  const seeds = seedsInLoadOrder();

  it('generates every table exactly once', () => {
    expect(seeds.map((s) => s.table).sort()).toEqual(CARESYNC_TABLES.map((t) => t.name).sort());
  });

  it('only reads constants the scratch functions define', () => {
    const keys = new Set(Object.keys(scratchConstants(seedVolumes(0.001))));
    const sql = [...seeds.map(insertSql), ...scratchFunctionsDdl(1, seedVolumes(0.001))].join('\n');
    const used = [...sql.matchAll(/\.n\('([a-z_]+)'\)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(50);
    for (const key of used) expect(keys, key).toContain(key);
  });

  it('renders INSERT … SELECT over a bound slice, identifiers quoted, scratch schema resolved', () => {
    const sql = insertSql(seeds.find((s) => s.table === 'prescriptions')!);
    expect(sql).toMatch(/^INSERT INTO "public"\."prescriptions" \("id", "consultation_id", "patient_id"/);
    expect(sql).toContain('OVERRIDING SYSTEM VALUE');
    expect(sql).toContain('generate_series($1::bigint, $2::bigint) AS g(n)');
    expect(sql).toContain('OFFSET 0) AS d2');
    expect(sql).not.toMatch(/\bsd\./);
    expect(sql).toContain('carve_demo_seed.presc_cons(n)');
    expect(resolveScratch('CREATE SCHEMA sd')).toBe('CREATE SCHEMA carve_demo_seed');
  });

  it('embeds the seed in the hash functions, so another seed is other data', () => {
    const one = scratchFunctionsDdl(1, seedVolumes(0.001)).join('\n');
    const two = scratchFunctionsDdl(2, seedVolumes(0.001)).join('\n');
    expect(one).toContain('hashtextextended(tag, 1::bigint)');
    expect(two).toContain('hashtextextended(tag, 2::bigint)');
  });
});

describe('load options', () => {
  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('12')).toBe(12_000);
    for (const bad of ['', 'soon', '5 minutes', '0s', '3x']) {
      expect(() => parseDuration(bad), bad).toThrow();
    }
  });

  it('chooses operations by weight, deterministically per stream', () => {
    const choose = operationChooser();
    const tally = new Map<string, number>();
    for (let k = 0; k < 10_000; k++) {
      const kind = choose(new Prng(1, k));
      tally.set(kind, (tally.get(kind) ?? 0) + 1);
    }
    expect(tally.size).toBe(OPERATION_KINDS.length);
    expect(tally.get('consultation')!).toBeGreaterThan(tally.get('document_update')! * 3);
    expect(choose(new Prng(1, 42))).toBe(choose(new Prng(1, 42)));
    const only = operationChooser(
      Object.fromEntries(OPERATION_KINDS.map((k) => [k, k === 'claim_payment' ? 1 : 0])),
    );
    expect(only(new Prng(9, 9))).toBe('claim_payment');
  });

  it('rejects an unknown or empty mix', () => {
    expect(() => operationChooser({ nope: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'DEMO_LOAD_BAD_MIX' }),
    );
    expect(() => operationChooser(Object.fromEntries(OPERATION_KINDS.map((k) => [k, 0])))).toThrow(
      expect.objectContaining({ code: 'DEMO_LOAD_BAD_MIX' }),
    );
    // The hint: non-negative weights for known kinds, not all zero.
    expect(() => operationChooser({ nope: 1 } as never)).toThrow(
      expect.objectContaining({ hint: 'Give non-negative weights for known operation kinds, not all zero.' }),
    );
    const mix = Object.fromEntries(OPERATION_KINDS.map((k, i) => [k, i === 0 ? 1 : 0]));
    expect(typeof operationChooser(mix)).toBe('function');
  });
});
