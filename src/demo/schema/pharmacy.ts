/** [pharmacy] formulary, prescriptions and their fills, stock and suppliers. */
export const pharmacyDdl: readonly string[] = [
  `CREATE TABLE suppliers (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     name text NOT NULL UNIQUE,
     contact_email email_address,
     phone text,
     country text NOT NULL DEFAULT 'US'
   )`,
  `CREATE TABLE medications (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     medication_master_id bigint NOT NULL REFERENCES medication_master (id),
     name text NOT NULL,
     form text NOT NULL,
     strength text NOT NULL,
     unit_price money_amount NOT NULL,
     is_formulary boolean NOT NULL DEFAULT true,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX medications_medication_master_id_idx ON medications (medication_master_id)`,
  `CREATE TABLE prescriptions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     patient_id bigint NOT NULL REFERENCES patients (id),
     prescriber_id bigint NOT NULL REFERENCES hospital_staff (id),
     medication_id bigint NOT NULL REFERENCES medications (id),
     dosage text NOT NULL,
     frequency text NOT NULL,
     quantity integer NOT NULL CHECK (quantity > 0),
     refills smallint NOT NULL DEFAULT 0 CHECK (refills >= 0),
     status prescription_status NOT NULL DEFAULT 'active',
     prescribed_at timestamptz NOT NULL,
     valid_until date,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX prescriptions_consultation_id_idx ON prescriptions (consultation_id)`,
  `CREATE INDEX prescriptions_medication_id_idx ON prescriptions (medication_id)`,
  `CREATE INDEX prescriptions_active_patient_idx ON prescriptions (patient_id) WHERE status = 'active'`,
  `CREATE TABLE pharmacy_inventory (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     medication_id bigint NOT NULL REFERENCES medications (id),
     supplier_id bigint REFERENCES suppliers (id),
     lot_number text NOT NULL,
     quantity_on_hand integer NOT NULL CHECK (quantity_on_hand >= 0),
     reorder_level integer NOT NULL DEFAULT 0,
     unit_cost money_amount NOT NULL,
     expires_on date NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     CONSTRAINT pharmacy_inventory_lot_key UNIQUE (hospital_id, medication_id, lot_number)
   )`,
  `CREATE TABLE prescription_fills (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     prescription_id bigint NOT NULL REFERENCES prescriptions (id),
     inventory_id bigint REFERENCES pharmacy_inventory (id),
     pharmacist_id bigint REFERENCES hospital_staff (id),
     quantity integer NOT NULL CHECK (quantity > 0),
     copay money_amount NOT NULL DEFAULT 0,
     filled_at timestamptz NOT NULL
   )`,
  `CREATE INDEX prescription_fills_prescription_id_idx ON prescription_fills (prescription_id)`,
  `CREATE TABLE drug_interactions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     medication_a_id bigint NOT NULL REFERENCES medication_master (id),
     medication_b_id bigint NOT NULL REFERENCES medication_master (id),
     severity text NOT NULL CHECK (severity IN ('minor', 'moderate', 'major', 'contraindicated')),
     description text NOT NULL,
     CHECK (medication_a_id < medication_b_id),
     CONSTRAINT drug_interactions_pair_key UNIQUE (medication_a_id, medication_b_id)
   )`,
];
