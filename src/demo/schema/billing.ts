/** [billing] price list, invoices and their lines, insurance claims and payments. */
export const billingDdl: readonly string[] = [
  `CREATE TABLE billing_codes (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     code text NOT NULL UNIQUE,
     description text NOT NULL,
     system_code_id bigint REFERENCES system_codes (id),
     base_price money_amount NOT NULL
   )`,
  `CREATE TABLE invoices (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     invoice_number text NOT NULL UNIQUE,
     patient_id bigint NOT NULL REFERENCES patients (id),
     consultation_id bigint REFERENCES consultations (id),
     status invoice_status NOT NULL DEFAULT 'open',
     total_amount numeric(12,2) NOT NULL DEFAULT 0,
     issued_at timestamptz NOT NULL,
     due_on date NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX invoices_patient_id_idx ON invoices (patient_id)`,
  `CREATE INDEX invoices_consultation_id_idx ON invoices (consultation_id)`,
  `CREATE TABLE invoice_items (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     invoice_id bigint NOT NULL REFERENCES invoices (id),
     billing_code_id bigint NOT NULL REFERENCES billing_codes (id),
     description text NOT NULL,
     quantity integer NOT NULL CHECK (quantity > 0),
     unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0),
     line_total numeric(12,2) GENERATED ALWAYS AS (quantity * unit_price) STORED
   )`,
  `CREATE INDEX invoice_items_invoice_id_idx ON invoice_items (invoice_id)`,
  `CREATE TABLE claims (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     claim_number text NOT NULL UNIQUE,
     patient_id bigint NOT NULL REFERENCES patients (id),
     consultation_id bigint NOT NULL REFERENCES consultations (id),
     prescription_id bigint REFERENCES prescriptions (id),
     invoice_id bigint REFERENCES invoices (id),
     insurance_info_id bigint NOT NULL REFERENCES insurance_info (id),
     payer_id bigint NOT NULL REFERENCES insurance_payers (id),
     status claim_status NOT NULL DEFAULT 'draft',
     amount_claimed money_amount NOT NULL,
     amount_approved money_amount,
     submitted_at timestamptz,
     adjudicated_at timestamptz,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX claims_patient_id_idx ON claims (patient_id)`,
  `CREATE INDEX claims_consultation_id_idx ON claims (consultation_id)`,
  `CREATE INDEX claims_status_idx ON claims (status, submitted_at)`,
  `CREATE TABLE payments (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     claim_id bigint REFERENCES claims (id),
     invoice_id bigint REFERENCES invoices (id),
     amount money_amount NOT NULL,
     method text NOT NULL CHECK (method IN ('insurance', 'card', 'cash', 'bank_transfer', 'check')),
     reference text NOT NULL UNIQUE,
     paid_at timestamptz NOT NULL,
     CHECK (claim_id IS NOT NULL OR invoice_id IS NOT NULL)
   )`,
  `CREATE INDEX payments_claim_id_idx ON payments (claim_id)`,
  `CREATE INDEX payments_invoice_id_idx ON payments (invoice_id)`,
];
