/** [patient] demographics and everything recorded about a patient outside a visit. */
export const patientDdl: readonly string[] = [
  `CREATE TABLE patients (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     mrn text NOT NULL UNIQUE,
     profile_id uuid UNIQUE REFERENCES profiles (id),
     first_name text NOT NULL,
     last_name text NOT NULL,
     full_name text GENERATED ALWAYS AS (first_name || ' ' || last_name) STORED,
     date_of_birth date NOT NULL,
     sex sex NOT NULL,
     email email_address,
     phone text,
     address jsonb,
     primary_hospital_id bigint REFERENCES hospitals (id),
     tags text[] NOT NULL DEFAULT '{}',
     deceased_at timestamptz,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CHECK (date_of_birth >= DATE '1900-01-01')
   )`,
  `CREATE INDEX patients_name_idx ON patients (last_name, first_name)`,
  `CREATE INDEX patients_date_of_birth_idx ON patients (date_of_birth)`,
  `CREATE INDEX patients_primary_hospital_id_idx ON patients (primary_hospital_id)`,
  `CREATE TABLE patient_history (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     system_code_id bigint NOT NULL REFERENCES system_codes (id),
     description text NOT NULL,
     onset_date date,
     resolved_date date,
     recorded_by bigint REFERENCES hospital_staff (id),
     recorded_at timestamptz NOT NULL DEFAULT now(),
     CHECK (resolved_date IS NULL OR onset_date IS NULL OR resolved_date >= onset_date)
   )`,
  `CREATE INDEX patient_history_patient_id_idx ON patient_history (patient_id)`,
  `CREATE TABLE patient_allergies (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     allergen text NOT NULL,
     allergen_type text NOT NULL CHECK (allergen_type IN ('drug', 'food', 'environmental', 'other')),
     reaction text,
     reaction_severity text NOT NULL
       CHECK (reaction_severity IN ('mild', 'moderate', 'severe', 'life_threatening')),
     noted_on date NOT NULL,
     is_active boolean NOT NULL DEFAULT true,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `COMMENT ON COLUMN patient_allergies.reaction_severity IS 'Renamed to severity by the migration plan.'`,
  `CREATE INDEX patient_allergies_patient_id_idx ON patient_allergies (patient_id)`,
  `CREATE TABLE patient_medications (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     medication_master_id bigint NOT NULL REFERENCES medication_master (id),
     dose text NOT NULL,
     frequency text NOT NULL,
     started_on date NOT NULL,
     stopped_on date,
     is_active boolean NOT NULL DEFAULT true,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX patient_medications_patient_id_idx ON patient_medications (patient_id)`,
  `CREATE TABLE emergency_contacts (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     name text NOT NULL,
     relationship text NOT NULL,
     phone text NOT NULL,
     email email_address,
     is_primary boolean NOT NULL DEFAULT false
   )`,
  `CREATE INDEX emergency_contacts_patient_id_idx ON emergency_contacts (patient_id)`,
  `CREATE TABLE insurance_info (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     payer_id bigint NOT NULL REFERENCES insurance_payers (id),
     policy_number text NOT NULL,
     group_number text,
     coverage_start date NOT NULL,
     coverage_end date,
     is_primary boolean NOT NULL DEFAULT true,
     copay money_amount NOT NULL DEFAULT 0,
     updated_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT insurance_info_payer_policy_key UNIQUE (payer_id, policy_number)
   )`,
  `CREATE INDEX insurance_info_patient_id_idx ON insurance_info (patient_id)`,
  `CREATE TABLE patient_documents (
     id uuid PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     document_type text NOT NULL
       CHECK (document_type IN ('referral_letter', 'discharge_summary', 'scan', 'consent_form', 'lab_report', 'id_card')),
     file_name text NOT NULL,
     mime_type text NOT NULL,
     content bytea NOT NULL,
     byte_size integer NOT NULL CHECK (byte_size >= 0),
     uploaded_by bigint REFERENCES hospital_staff (id),
     uploaded_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX patient_documents_patient_id_idx ON patient_documents (patient_id)`,
  `CREATE TABLE immunizations (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     vaccine_code text NOT NULL,
     vaccine_name text NOT NULL,
     dose_number smallint NOT NULL CHECK (dose_number > 0),
     administered_on date NOT NULL,
     lot_number text,
     site text,
     administered_by bigint REFERENCES hospital_staff (id)
   )`,
  `CREATE INDEX immunizations_patient_id_idx ON immunizations (patient_id)`,
  `CREATE TABLE consents (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     consent_type text NOT NULL
       CHECK (consent_type IN ('treatment', 'data_sharing', 'research', 'telehealth', 'marketing')),
     granted boolean NOT NULL,
     signed_at timestamptz NOT NULL,
     revoked_at timestamptz,
     document_id uuid REFERENCES patient_documents (id)
   )`,
  `CREATE INDEX consents_patient_id_idx ON consents (patient_id)`,
];
