/** [laboratory] test catalogue, orders, specimens, results and lab stock. */
export const laboratoryDdl: readonly string[] = [
  `CREATE TABLE test_definitions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     lab_test_master_id bigint NOT NULL REFERENCES lab_test_master (id),
     code text NOT NULL UNIQUE,
     name text NOT NULL,
     turnaround_hours integer NOT NULL CHECK (turnaround_hours > 0),
     price money_amount NOT NULL,
     is_active boolean NOT NULL DEFAULT true
   )`,
  `CREATE TABLE lab_orders (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     patient_id bigint NOT NULL REFERENCES patients (id),
     ordered_by bigint NOT NULL REFERENCES hospital_staff (id),
     test_definition_id bigint NOT NULL REFERENCES test_definitions (id),
     priority text NOT NULL DEFAULT 'routine' CHECK (priority IN ('routine', 'urgent', 'stat')),
     status lab_order_status NOT NULL DEFAULT 'ordered',
     ordered_at timestamptz NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX lab_orders_consultation_id_idx ON lab_orders (consultation_id)`,
  `CREATE INDEX lab_orders_patient_id_idx ON lab_orders (patient_id)`,
  `CREATE TABLE specimens (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     lab_order_id bigint NOT NULL REFERENCES lab_orders (id),
     barcode text NOT NULL UNIQUE,
     specimen_type text NOT NULL,
     collected_at timestamptz NOT NULL,
     collected_by bigint REFERENCES hospital_staff (id),
     condition text
   )`,
  `CREATE INDEX specimens_lab_order_id_idx ON specimens (lab_order_id)`,
  `CREATE TABLE lab_results (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     lab_order_id bigint NOT NULL REFERENCES lab_orders (id),
     specimen_id bigint REFERENCES specimens (id),
     value_numeric numeric(12,3),
     value_text text,
     unit text,
     reference_range text,
     abnormal_flag text CHECK (abnormal_flag IN ('L', 'H', 'LL', 'HH', 'A')),
     resulted_at timestamptz NOT NULL,
     verified_by bigint REFERENCES hospital_staff (id),
     updated_at timestamptz NOT NULL DEFAULT now(),
     CHECK (value_numeric IS NOT NULL OR value_text IS NOT NULL)
   )`,
  `CREATE INDEX lab_results_lab_order_id_idx ON lab_results (lab_order_id)`,
  `CREATE TABLE lab_inventory (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     supplier_id bigint REFERENCES suppliers (id),
     item_name text NOT NULL,
     quantity integer NOT NULL CHECK (quantity >= 0),
     reorder_level integer NOT NULL DEFAULT 0,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
];
