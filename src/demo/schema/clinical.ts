/** [clinical] wards and beds, visits and everything recorded during them. */
export const clinicalDdl: readonly string[] = [
  `CREATE TABLE wards (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     department_id bigint NOT NULL REFERENCES departments (id),
     name text NOT NULL,
     ward_type text NOT NULL CHECK (ward_type IN ('general', 'icu', 'maternity', 'pediatric', 'surgical', 'psychiatric')),
     floor smallint,
     capacity integer NOT NULL CHECK (capacity > 0)
   )`,
  `CREATE INDEX wards_department_id_idx ON wards (department_id)`,
  `CREATE TABLE beds (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     ward_id bigint NOT NULL REFERENCES wards (id),
     bed_number text NOT NULL,
     bed_type text NOT NULL DEFAULT 'standard',
     is_available boolean NOT NULL DEFAULT true,
     updated_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT beds_ward_bed_number_key UNIQUE (ward_id, bed_number)
   )`,
  `CREATE TABLE consultations (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     staff_id bigint NOT NULL REFERENCES hospital_staff (id),
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     department_id bigint REFERENCES departments (id),
     follow_up_of bigint REFERENCES consultations (id),
     consultation_type text NOT NULL
       CHECK (consultation_type IN ('outpatient', 'inpatient', 'emergency', 'telehealth', 'follow_up')),
     status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'cancelled')),
     chief_complaint text,
     started_at timestamptz NOT NULL,
     ended_at timestamptz,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CHECK (ended_at IS NULL OR ended_at >= started_at)
   )`,
  `CREATE INDEX consultations_patient_id_idx ON consultations (patient_id)`,
  `CREATE INDEX consultations_staff_id_idx ON consultations (staff_id)`,
  `CREATE INDEX consultations_started_at_idx ON consultations (started_at)`,
  `CREATE TABLE diagnoses (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     system_code_id bigint NOT NULL REFERENCES system_codes (id),
     is_primary boolean NOT NULL DEFAULT false,
     certainty text NOT NULL DEFAULT 'confirmed' CHECK (certainty IN ('suspected', 'provisional', 'confirmed')),
     diagnosed_at timestamptz NOT NULL,
     notes text
   )`,
  `CREATE INDEX diagnoses_consultation_id_idx ON diagnoses (consultation_id)`,
  `CREATE TABLE treatment_plans (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     patient_id bigint NOT NULL REFERENCES patients (id),
     title text NOT NULL,
     goals jsonb NOT NULL DEFAULT '[]',
     start_date date NOT NULL,
     end_date date,
     status text NOT NULL CHECK (status IN ('draft', 'active', 'completed', 'abandoned')),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX treatment_plans_consultation_id_idx ON treatment_plans (consultation_id)`,
  `CREATE INDEX treatment_plans_patient_id_idx ON treatment_plans (patient_id)`,
  `CREATE TABLE clinical_notes (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     author_id bigint NOT NULL REFERENCES hospital_staff (id),
     note_type text NOT NULL CHECK (note_type IN ('progress', 'soap', 'discharge', 'operative', 'nursing')),
     body text NOT NULL,
     metadata jsonb NOT NULL DEFAULT '{}',
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX clinical_notes_consultation_id_idx ON clinical_notes (consultation_id)`,
  `CREATE TABLE vital_signs (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     patient_id bigint NOT NULL REFERENCES patients (id),
     readings jsonb NOT NULL,
     recorded_by bigint REFERENCES hospital_staff (id),
     recorded_at timestamptz NOT NULL
   )`,
  `CREATE INDEX vital_signs_consultation_id_idx ON vital_signs (consultation_id)`,
  `CREATE INDEX vital_signs_patient_recorded_idx ON vital_signs (patient_id, recorded_at)`,
  `CREATE TABLE referrals (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     consultation_id bigint REFERENCES consultations (id),
     from_staff_id bigint NOT NULL REFERENCES hospital_staff (id),
     to_department_id bigint NOT NULL REFERENCES departments (id),
     parent_referral_id bigint REFERENCES referrals (id),
     reason text NOT NULL,
     status text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'completed')),
     referred_at timestamptz NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX referrals_patient_id_idx ON referrals (patient_id)`,
  `CREATE TABLE procedures (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     system_code_id bigint NOT NULL REFERENCES system_codes (id),
     performed_by bigint NOT NULL REFERENCES hospital_staff (id),
     performed_at timestamptz NOT NULL,
     duration_minutes integer CHECK (duration_minutes > 0),
     outcome text
   )`,
  `CREATE INDEX procedures_consultation_id_idx ON procedures (consultation_id)`,
  `CREATE TABLE admissions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     consultation_id bigint REFERENCES consultations (id),
     bed_id bigint REFERENCES beds (id),
     status admission_status NOT NULL DEFAULT 'admitted',
     reason text NOT NULL,
     admitted_at timestamptz NOT NULL,
     discharged_at timestamptz,
     updated_at timestamptz NOT NULL DEFAULT now(),
     CHECK (discharged_at IS NULL OR discharged_at >= admitted_at)
   )`,
  `CREATE INDEX admissions_patient_id_idx ON admissions (patient_id)`,
  `CREATE INDEX admissions_bed_id_idx ON admissions (bed_id)`,
];
