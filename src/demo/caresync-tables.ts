/**
 * The CareSync monolith's table catalogue: every table `createMonolithSchema` creates, with the
 * service database the reference migration plan puts it in. Plan authors and tests read this
 * instead of repeating the list. `excluded` marks the one table the plan leaves behind (it has
 * no primary key, so guardrails must catch it if anyone tries to move it).
 */

export type CaresyncService =
  | 'auth'
  | 'patient'
  | 'clinical'
  | 'pharmacy'
  | 'laboratory'
  | 'appointment'
  | 'billing'
  | 'analytics'
  | 'shared'
  | 'excluded';

export interface CaresyncTable {
  readonly name: string;
  readonly service: CaresyncService;
}

const byService: Record<CaresyncService, readonly string[]> = {
  shared: ['hospitals', 'system_codes', 'medication_master', 'lab_test_master', 'insurance_payers'],
  auth: [
    'profiles',
    'roles',
    'user_roles',
    'permissions',
    'role_permissions',
    'hospital_staff',
    'sessions',
    'departments',
  ],
  patient: [
    'patients',
    'patient_history',
    'patient_allergies',
    'patient_medications',
    'emergency_contacts',
    'insurance_info',
    'patient_documents',
    'immunizations',
    'consents',
  ],
  clinical: [
    'consultations',
    'diagnoses',
    'treatment_plans',
    'clinical_notes',
    'vital_signs',
    'referrals',
    'procedures',
    'admissions',
    'wards',
    'beds',
  ],
  pharmacy: [
    'medications',
    'prescriptions',
    'prescription_fills',
    'drug_interactions',
    'pharmacy_inventory',
    'suppliers',
  ],
  laboratory: ['test_definitions', 'lab_orders', 'specimens', 'lab_results', 'lab_inventory'],
  appointment: [
    'appointment_types',
    'appointments',
    'availability_slots',
    'scheduling_rules',
    'waitlist_entries',
  ],
  billing: ['billing_codes', 'invoices', 'invoice_items', 'claims', 'payments'],
  analytics: ['analytics_data', 'reports', 'dashboards', 'metrics_cache'],
  excluded: ['login_attempts'],
};

/** All 58 CareSync tables (schema `public`), grouped by the service that will own them. */
export const CARESYNC_TABLES: readonly CaresyncTable[] = Object.freeze(
  (Object.entries(byService) as [CaresyncService, readonly string[]][]).flatMap(([service, names]) =>
    names.map((name) => Object.freeze({ name, service })),
  ),
);

export const CARESYNC_SCHEMA = 'public';

/** The one partitioned table; its monthly partitions are listed by `analyticsPartitions()`. */
export const CARESYNC_PARTITIONED_TABLE = 'analytics_data';

/** The one table without a primary or unique key. */
export const CARESYNC_KEYLESS_TABLE = 'login_attempts';

export function caresyncServiceOf(table: string): CaresyncService | undefined {
  return CARESYNC_TABLES.find((t) => t.name === table)?.service;
}
