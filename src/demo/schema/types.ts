/** Enums and domains shared by several CareSync tables; created before any table. */
export const typesDdl: readonly string[] = [
  `CREATE DOMAIN email_address AS text
     CONSTRAINT email_address_format CHECK (VALUE ~ '^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$')`,
  `CREATE DOMAIN money_amount AS numeric(12,2) CONSTRAINT money_amount_non_negative CHECK (VALUE >= 0)`,
  `CREATE TYPE sex AS ENUM ('female', 'male', 'intersex', 'unknown')`,
  `CREATE TYPE code_system AS ENUM ('ICD-10', 'CPT', 'LOINC')`,
  `CREATE TYPE appointment_status AS ENUM ('scheduled', 'confirmed', 'checked_in', 'completed', 'cancelled', 'no_show')`,
  `CREATE TYPE prescription_status AS ENUM ('active', 'completed', 'cancelled', 'on_hold')`,
  `CREATE TYPE lab_order_status AS ENUM ('ordered', 'collected', 'in_progress', 'resulted', 'cancelled')`,
  `CREATE TYPE claim_status AS ENUM ('draft', 'submitted', 'accepted', 'rejected', 'paid', 'partially_paid', 'appealed')`,
  `CREATE TYPE invoice_status AS ENUM ('open', 'paid', 'overdue', 'void')`,
  `CREATE TYPE admission_status AS ENUM ('admitted', 'transferred', 'discharged')`,
];

/** Names of the types above, for the "already exists" check. */
export const CARESYNC_TYPES: readonly string[] = [
  'email_address',
  'money_amount',
  'sex',
  'code_system',
  'appointment_status',
  'prescription_status',
  'lab_order_status',
  'claim_status',
  'invoice_status',
  'admission_status',
];
