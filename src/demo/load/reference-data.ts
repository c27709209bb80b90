import { CarveError } from '../../errors.js';
import type { Client } from '../../pg/connect.js';
import { quoteQualified } from '../../pg/quote.js';
import { CARESYNC_SCHEMA } from '../caresync-tables.js';

export interface StaffMember {
  id: number;
  hospitalId: number;
  departmentId: number | null;
}

/**
 * What the load generator needs to know about the monolith to write valid rows: small reference
 * lists (read once), and the id ranges of the big tables, from which it picks existing rows by
 * `id >= random LIMIT 1` (so gaps and deleted rows never break a foreign key).
 */
export interface ReferenceData {
  physicians: StaffMember[];
  nurses: StaffMember[];
  pharmacists: StaffMember[];
  labTechnicians: StaffMember[];
  icdCodes: number[];
  cptCodes: number[];
  medications: number[];
  testDefinitions: number[];
  payers: number[];
  departments: number[];
  appointmentTypes: { id: number; minutes: number }[];
  inventory: number[];
  profiles: string[];
  /**
   * Epoch-ms span of upcoming (scheduled / confirmed) appointments. They cluster at the end of the
   * data, so they are found through the partial index on scheduled_at, not by id.
   */
  upcoming: { from: number; to: number };
  /** Inclusive id ranges of the tables rows are picked from; `hi` grows as the load inserts. */
  ranges: Record<RangedTable, { lo: number; hi: number }>;
}

export const RANGED_TABLES = [
  'patients',
  'consultations',
  'prescriptions',
  'appointments',
  'claims',
  'clinical_notes',
  'patient_allergies',
  'waitlist_entries',
  'consents',
  'analytics_data',
] as const;
export type RangedTable = (typeof RANGED_TABLES)[number];

export async function readReferenceData(client: Client): Promise<ReferenceData> {
  const ids = async (sql: string) => (await client.query<{ id: string }>(sql)).rows.map((r) => Number(r.id));
  const staff = async (type: string) =>
    (
      await client.query<{ id: string; hospital_id: string; department_id: string | null }>(
        `SELECT id, hospital_id, department_id FROM public.hospital_staff WHERE staff_type = $1 ORDER BY id`,
        [type],
      )
    ).rows.map((r) => ({
      id: Number(r.id),
      hospitalId: Number(r.hospital_id),
      departmentId: r.department_id === null ? null : Number(r.department_id),
    }));
  const data: ReferenceData = {
    physicians: await staff('physician'),
    nurses: await staff('nurse'),
    pharmacists: await staff('pharmacist'),
    labTechnicians: await staff('lab_technician'),
    icdCodes: await ids(`SELECT id FROM public.system_codes WHERE code_system = 'ICD-10' ORDER BY id`),
    cptCodes: await ids(`SELECT id FROM public.system_codes WHERE code_system = 'CPT' ORDER BY id`),
    medications: await ids(`SELECT id FROM public.medications ORDER BY id`),
    testDefinitions: await ids(`SELECT id FROM public.test_definitions ORDER BY id`),
    payers: await ids(`SELECT id FROM public.insurance_payers ORDER BY id`),
    departments: await ids(`SELECT id FROM public.departments ORDER BY id`),
    appointmentTypes: (
      await client.query<{ id: string; minutes: number }>(
        `SELECT id, duration_minutes AS minutes FROM public.appointment_types ORDER BY id`,
      )
    ).rows.map((r) => ({ id: Number(r.id), minutes: r.minutes })),
    inventory: await ids(`SELECT id FROM public.pharmacy_inventory ORDER BY id`),
    profiles: (
      await client.query<{ id: string }>(`SELECT id FROM public.profiles ORDER BY id LIMIT 5000`)
    ).rows.map((r) => r.id),
    ranges: {} as ReferenceData['ranges'],
    upcoming: { from: 0, to: 0 },
  };
  const upcoming = await client.query<{ lo: string | null; hi: string | null }>(
    `SELECT (extract(epoch FROM min(scheduled_at)) * 1000)::bigint::text AS lo,
            (extract(epoch FROM max(scheduled_at)) * 1000)::bigint::text AS hi
       FROM public.appointments WHERE status IN ('scheduled', 'confirmed')`,
  );
  const now = Date.now();
  data.upcoming = {
    from: Number(upcoming.rows[0]!.lo ?? now),
    to: Math.max(Number(upcoming.rows[0]!.hi ?? now), now),
  };
  for (const table of RANGED_TABLES) {
    const r = await client.query<{ lo: string | null; hi: string | null }>(
      `SELECT min(id)::text AS lo, max(id)::text AS hi FROM ${quoteQualified(CARESYNC_SCHEMA, table)}`,
    );
    data.ranges[table] = { lo: Number(r.rows[0]!.lo ?? 0), hi: Number(r.rows[0]!.hi ?? 0) };
  }
  const empty = Object.entries(data)
    .filter(([key, value]) => key !== 'ranges' && Array.isArray(value) && value.length === 0)
    .map(([key]) => key);
  const emptyRanges = RANGED_TABLES.filter(
    (t) => data.ranges[t].hi === 0 && t !== 'waitlist_entries' && t !== 'consents',
  );
  if (empty.length > 0 || emptyRanges.length > 0) {
    throw new CarveError(
      'DEMO_LOAD_NOT_SEEDED',
      `The monolith has no ${[...empty, ...emptyRanges].join(', ')} to write against`,
      {
        details: { missing: [...empty, ...emptyRanges] },
        hint: 'Seed it first: carve demo seed --source URL --scale 0.01',
      },
    );
  }
  return data;
}
