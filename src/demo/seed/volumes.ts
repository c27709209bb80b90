import { CarveError } from '../../errors.js';

/**
 * How many rows each CareSync table gets at a given scale. Scale 1 is the reference plan's
 * volume (100K users, 1M patients, 5M consultations, 2M prescriptions, 3M lab orders, 500K
 * appointments, 1M claims); reference tables have a fixed size whatever the scale. Every count
 * is exact: the generator produces exactly these rows, so tests can compare.
 */

/** Rows at scale 1 of the tables that grow with the scale. */
const SCALED: Readonly<Record<string, number>> = {
  profiles: 100_000,
  hospital_staff: 20_000,
  sessions: 150_000,
  patients: 1_000_000,
  patient_history: 1_000_000,
  patient_allergies: 500_000,
  patient_medications: 800_000,
  emergency_contacts: 700_000,
  patient_documents: 100_000,
  immunizations: 800_000,
  consents: 500_000,
  consultations: 5_000_000,
  diagnoses: 3_000_000,
  treatment_plans: 500_000,
  clinical_notes: 2_000_000,
  vital_signs: 2_000_000,
  referrals: 250_000,
  procedures: 1_000_000,
  admissions: 100_000,
  prescriptions: 2_000_000,
  prescription_fills: 1_500_000,
  lab_orders: 3_000_000,
  specimens: 1_000_000,
  lab_results: 2_000_000,
  availability_slots: 800_000,
  appointments: 500_000,
  waitlist_entries: 50_000,
  invoices: 1_200_000,
  claims: 1_000_000,
  analytics_data: 1_000_000,
  reports: 20_000,
  dashboards: 5_000,
  metrics_cache: 50_000,
  login_attempts: 300_000,
};

/** Reference and structural tables: the same size at every scale. */
const FIXED: Readonly<Record<string, number>> = {
  hospitals: 200,
  system_codes: 3_000,
  medication_master: 500,
  lab_test_master: 300,
  insurance_payers: 150,
  roles: 12,
  permissions: 60,
  role_permissions: 240,
  departments: 3_000,
  wards: 1_000,
  beds: 20_000,
  suppliers: 80,
  medications: 600,
  drug_interactions: 2_000,
  pharmacy_inventory: 10_000,
  test_definitions: 300,
  lab_inventory: 4_000,
  appointment_types: 20,
  scheduling_rules: 1_000,
  billing_codes: 1_000,
};

/** system_codes ids: ICD-10 first, then CPT, then LOINC. */
export const SYSTEM_CODE_SPLIT = { icd10: 1_800, cpt: 900, loinc: 300 } as const;
export const DEPARTMENTS_PER_HOSPITAL = 15;
export const BEDS_PER_WARD = 20;
export const ROLE_PERMISSIONS_PER_ROLE = 20;
export const INVENTORY_LOTS_PER_HOSPITAL = 50;
export const LAB_ITEMS_PER_HOSPITAL = 20;
/** Every fifth profile holds a second role. */
export const SECOND_ROLE_EVERY = 5;
/** Claims whose number ends in 1..7 are paid or partially paid, and have one payment each. */
export const PAID_CLAIM_DIGITS = 7;

export const MAX_SCALE = 100;

export type Volumes = Readonly<Record<string, number>>;

export function paidClaims(claims: number): number {
  return Math.floor(claims / 10) * PAID_CLAIM_DIGITS + Math.min(claims % 10, PAID_CLAIM_DIGITS);
}

/** Exact row counts for every CareSync table at `scale` (0 < scale ≤ 100). */
export function seedVolumes(scale: number): Volumes {
  if (!Number.isFinite(scale) || scale <= 0 || scale > MAX_SCALE) {
    throw new CarveError('DEMO_BAD_SCALE', `Scale ${scale} is out of range (0 < scale ≤ ${MAX_SCALE})`, {
      details: { scale },
      hint: 'Use e.g. --scale 0.001 for a few thousand rows, --scale 1 for the reference volume.',
    });
  }
  const v: Record<string, number> = { ...FIXED };
  for (const [table, base] of Object.entries(SCALED)) v[table] = Math.max(1, Math.round(base * scale));
  // Structural minimums the generator relies on: a few staff of each type, portal profiles.
  v.hospital_staff = Math.max(10, v.hospital_staff!);
  v.profiles = Math.max(v.hospital_staff + 1, v.profiles!);
  v.invoices = Math.max(v.invoices!, v.claims!);
  v.user_roles = v.profiles + Math.floor(v.profiles / SECOND_ROLE_EVERY);
  v.insurance_info = v.patients! + Math.round(v.patients! / 10);
  v.invoice_items = 2 * v.invoices;
  v.payments = paidClaims(v.claims!);
  return Object.freeze(v);
}

/** Tables whose size follows the scale (the others are fixed reference data). */
export function isScaledTable(table: string): boolean {
  return table in SCALED || ['user_roles', 'insurance_info', 'invoice_items', 'payments'].includes(table);
}

export function totalRows(volumes: Volumes): number {
  return Object.values(volumes).reduce((a, b) => a + b, 0);
}
