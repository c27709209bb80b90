import { beforeAll, describe, expect, it } from 'vitest';
import { CARESYNC_TABLES } from '../../src/demo/caresync-tables.js';
import { createMonolithSchema } from '../../src/demo/create-monolith-schema.js';
import { analyticsPartitions } from '../../src/demo/date-range.js';
import { isCarveError } from '../../src/errors.js';
import { withClient } from '../../src/pg/connect.js';
import { createDatabase, useCluster } from '../support/cluster.js';

const cluster = await useCluster({ name: 'demo-schema' });
let url: string;

beforeAll(async () => {
  url = await createDatabase(cluster, 'caresync');
  await withClient(url, (c) => createMonolithSchema(c));
});

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query(sql, params)).rows as T[]);
}

/** Every foreign key in public as `child(cols)->parent(cols)`. */
async function foreignKeys(): Promise<Set<string>> {
  const fks = await rows<{ fk: string }>(`
    SELECT c.conrelid::regclass::text || '(' || string_agg(a.attname, ',' ORDER BY k.i) || ')->' ||
           c.confrelid::regclass::text AS fk
      FROM pg_constraint c
      CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, i)
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND c.conparentid = 0
     GROUP BY c.oid, c.conrelid, c.confrelid`);
  return new Set(fks.map((r) => r.fk));
}

describe('CareSync monolith schema', () => {
  it('has the 58 catalogued tables, and analytics_data partitioned by month plus a default', async () => {
    expect(CARESYNC_TABLES).toHaveLength(58);
    expect(new Set(CARESYNC_TABLES.map((t) => t.name)).size).toBe(58);
    const tables = await rows<{ relname: string; relkind: string; ispartition: boolean }>(
      `SELECT relname, relkind, relispartition AS ispartition FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY relname`,
    );
    const top = tables.filter((t) => !t.ispartition).map((t) => t.relname);
    expect(top.sort()).toEqual(CARESYNC_TABLES.map((t) => t.name).sort());
    expect(tables.filter((t) => t.relkind === 'p').map((t) => t.relname)).toEqual(['analytics_data']);
    const partitions = await rows<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'analytics_data'::regclass ORDER BY 1`,
    );
    expect(partitions).toHaveLength(analyticsPartitions().length);
    expect(partitions.length).toBeGreaterThanOrEqual(13);
    expect(partitions.filter((p) => p.bound === 'DEFAULT').map((p) => p.name)).toEqual([
      'analytics_data_default',
    ]);
  });

  it('has every coupling foreign key the migration will cut or keep', async () => {
    const fks = await foreignKeys();
    const expected = [
      'consultations(patient_id)->patients',
      'prescriptions(consultation_id)->consultations',
      'prescriptions(patient_id)->patients',
      'prescriptions(medication_id)->medications',
      'claims(prescription_id)->prescriptions',
      'claims(patient_id)->patients',
      'claims(consultation_id)->consultations',
      'claims(insurance_info_id)->insurance_info',
      'claims(payer_id)->insurance_payers',
      'payments(claim_id)->claims',
      'invoices(patient_id)->patients',
      'invoice_items(invoice_id)->invoices',
      'lab_orders(consultation_id)->consultations',
      'lab_orders(patient_id)->patients',
      'lab_results(lab_order_id)->lab_orders',
      'appointments(patient_id)->patients',
      'appointments(staff_id)->hospital_staff',
      'hospital_staff(hospital_id)->hospitals',
      'hospital_staff(department_id)->departments',
      'hospital_staff(profile_id)->profiles',
      'wards(department_id)->departments',
      'beds(ward_id)->wards',
      'admissions(patient_id)->patients',
      'admissions(bed_id)->beds',
      'profiles(created_by)->profiles',
      'referrals(parent_referral_id)->referrals',
      'consultations(follow_up_of)->consultations',
      'analytics_data(hospital_id)->hospitals',
      'user_roles(profile_id)->profiles',
      'role_permissions(role_id)->roles',
      'insurance_info(patient_id)->patients',
      'patient_allergies(patient_id)->patients',
    ];
    for (const fk of expected) expect(fks, fk).toContain(fk);
    expect(fks.size).toBeGreaterThanOrEqual(100);
  });

  it('has exactly one table without a primary key: login_attempts, which has no unique key either', async () => {
    const keyless = await rows<{ relname: string }>(
      `SELECT c.relname FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')`,
    );
    expect(keyless.map((r) => r.relname)).toEqual(['login_attempts']);
    const unique = await rows(
      `SELECT 1 FROM pg_index WHERE indrelid = 'login_attempts'::regclass AND indisunique`,
    );
    expect(unique).toHaveLength(0);
  });

  it('uses enums, domains, generated, bytea, jsonb, text[], uuid and identity/serial columns', async () => {
    const cols = await rows<{
      col: string;
      type: string;
      generated: string;
      identity: string;
      def: string | null;
    }>(
      `SELECT c.relname || '.' || a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
              a.attgenerated AS generated, a.attidentity AS identity, pg_get_expr(d.adbin, d.adrelid) AS def
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    const col = (name: string) => cols.find((c) => c.col === name);
    expect(col('patients.sex')?.type).toBe('sex');
    expect(col('patients.tags')?.type).toBe('text[]');
    expect(col('patients.full_name')?.generated).toBe('s');
    expect(col('invoice_items.line_total')?.generated).toBe('s');
    expect(col('profiles.email')?.type).toBe('email_address');
    expect(col('profiles.id')?.type).toBe('uuid');
    expect(col('profiles.legacy_password_md5')?.type).toBe('text');
    expect(col('sessions.id')?.type).toBe('uuid');
    expect(col('patient_documents.id')?.type).toBe('uuid');
    expect(col('patient_documents.content')?.type).toBe('bytea');
    expect(col('patient_allergies.reaction_severity')?.type).toBe('text');
    expect(col('clinical_notes.metadata')?.type).toBe('jsonb');
    expect(col('vital_signs.readings')?.type).toBe('jsonb');
    expect(col('dashboards.layout')?.type).toBe('jsonb');
    expect(col('claims.amount_claimed')?.type).toBe('money_amount');
    expect(col('system_codes.code_system')?.type).toBe('code_system');
    expect(col('appointments.status')?.type).toBe('appointment_status');
    expect(col('claims.status')?.type).toBe('claim_status');
    expect(col('prescriptions.status')?.type).toBe('prescription_status');
    expect(col('patients.id')?.identity).toBe('a');
    expect(col('reports.id')?.def).toContain('nextval');
    expect(col('analytics_data.id')?.def).toContain('nextval');
    const domains = await rows<{ typname: string; base: string }>(
      `SELECT typname, format_type(typbasetype, typtypmod) AS base FROM pg_type
        WHERE typnamespace = 'public'::regnamespace AND typtype = 'd' ORDER BY 1`,
    );
    expect(domains).toEqual([
      { typname: 'email_address', base: 'text' },
      { typname: 'money_amount', base: 'numeric(12,2)' },
    ]);
  });

  it('has unique keys, checks, a multi-column and a partial index', async () => {
    const indexes = await rows<{ name: string; def: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public'`,
    );
    const names = indexes.map((i) => i.name);
    expect(names).toEqual(
      expect.arrayContaining(['patients_mrn_key', 'profiles_email_key', 'billing_codes_code_key']),
    );
    expect(indexes.find((i) => i.name === 'patients_name_idx')?.def).toContain('(last_name, first_name)');
    expect(indexes.find((i) => i.name === 'appointments_upcoming_idx')?.def).toContain('WHERE');
    const checks = await rows(
      `SELECT 1 FROM pg_constraint WHERE contype = 'c' AND connamespace = 'public'::regnamespace`,
    );
    expect(checks.length).toBeGreaterThan(30);
  });

  it('refuses to run twice, naming the tables that exist, and leaves nothing half-created', async () => {
    const error = await withClient(url, (c) => createMonolithSchema(c)).catch((e: unknown) => e);
    expect(isCarveError(error, 'DEMO_SCHEMA_EXISTS')).toBe(true);
    const details = (error as { details: { tables: string[] } }).details;
    expect(details.tables).toContain('patients');
    expect(details.tables).toContain('analytics_data_default');

    // Only the types left over: still refused, and the transaction leaves no table behind.
    const other = await createDatabase(cluster, 'types_only');
    await withClient(other, (c) => c.query(`CREATE TYPE sex AS ENUM ('x')`));
    const typeError = await withClient(other, (c) => createMonolithSchema(c)).catch((e: unknown) => e);
    expect(isCarveError(typeError, 'DEMO_SCHEMA_EXISTS')).toBe(true);
    expect((typeError as { details: { types: string[] } }).details.types).toEqual(['sex']);
    const left = await withClient(
      other,
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)).rows[0].n,
    );
    expect(left).toBe(0);
  });
});
