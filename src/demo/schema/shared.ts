/** [shared] reference data every service reads: hospitals, code systems, master lists, payers. */
export const sharedDdl: readonly string[] = [
  `CREATE TABLE hospitals (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     code text NOT NULL UNIQUE,
     name text NOT NULL,
     city text NOT NULL,
     state text NOT NULL CHECK (length(state) = 2),
     country text NOT NULL DEFAULT 'US',
     phone text,
     bed_capacity integer NOT NULL CHECK (bed_capacity > 0),
     opened_on date,
     is_active boolean NOT NULL DEFAULT true,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE system_codes (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     code_system code_system NOT NULL,
     code text NOT NULL,
     description text NOT NULL,
     is_active boolean NOT NULL DEFAULT true,
     effective_from date NOT NULL,
     CONSTRAINT system_codes_system_code_key UNIQUE (code_system, code)
   )`,
  `CREATE TABLE medication_master (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     ndc_code text NOT NULL UNIQUE,
     generic_name text NOT NULL,
     brand_name text,
     form text NOT NULL,
     strength text NOT NULL,
     atc_code text,
     is_controlled boolean NOT NULL DEFAULT false
   )`,
  `CREATE TABLE lab_test_master (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     loinc_code text NOT NULL UNIQUE,
     name text NOT NULL,
     specimen_type text NOT NULL,
     unit text,
     reference_low numeric(10,3),
     reference_high numeric(10,3),
     CHECK (reference_low IS NULL OR reference_high IS NULL OR reference_low <= reference_high)
   )`,
  `CREATE TABLE insurance_payers (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     payer_code text NOT NULL UNIQUE,
     name text NOT NULL,
     payer_type text NOT NULL CHECK (payer_type IN ('commercial', 'medicare', 'medicaid', 'self_pay', 'other')),
     phone text,
     address jsonb
   )`,
];
