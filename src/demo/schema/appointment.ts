/** [appointment] scheduling: types, staff availability, bookings, rules and the waitlist. */
export const appointmentDdl: readonly string[] = [
  `CREATE TABLE appointment_types (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     code text NOT NULL UNIQUE,
     name text NOT NULL,
     duration_minutes integer NOT NULL CHECK (duration_minutes > 0),
     color text
   )`,
  `CREATE TABLE availability_slots (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     staff_id bigint NOT NULL REFERENCES hospital_staff (id),
     starts_at timestamptz NOT NULL,
     ends_at timestamptz NOT NULL,
     is_booked boolean NOT NULL DEFAULT false,
     CHECK (ends_at > starts_at),
     CONSTRAINT availability_slots_staff_start_key UNIQUE (staff_id, starts_at)
   )`,
  `CREATE TABLE appointments (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     staff_id bigint NOT NULL REFERENCES hospital_staff (id),
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     appointment_type_id bigint NOT NULL REFERENCES appointment_types (id),
     slot_id bigint UNIQUE REFERENCES availability_slots (id),
     scheduled_at timestamptz NOT NULL,
     duration_minutes integer NOT NULL CHECK (duration_minutes > 0),
     status appointment_status NOT NULL DEFAULT 'scheduled',
     reason text,
     cancelled_at timestamptz,
     cancel_reason text,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX appointments_patient_id_idx ON appointments (patient_id)`,
  `CREATE INDEX appointments_staff_scheduled_idx ON appointments (staff_id, scheduled_at)`,
  `CREATE INDEX appointments_upcoming_idx ON appointments (scheduled_at) WHERE status IN ('scheduled', 'confirmed')`,
  `CREATE TABLE scheduling_rules (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     hospital_id bigint NOT NULL REFERENCES hospitals (id),
     department_id bigint REFERENCES departments (id),
     appointment_type_id bigint NOT NULL REFERENCES appointment_types (id),
     rule jsonb NOT NULL,
     max_per_day integer CHECK (max_per_day > 0),
     is_active boolean NOT NULL DEFAULT true,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE waitlist_entries (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     patient_id bigint NOT NULL REFERENCES patients (id),
     department_id bigint NOT NULL REFERENCES departments (id),
     appointment_type_id bigint NOT NULL REFERENCES appointment_types (id),
     priority smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
     status text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'booked', 'cancelled')),
     notes text,
     requested_at timestamptz NOT NULL
   )`,
  `CREATE INDEX waitlist_entries_patient_id_idx ON waitlist_entries (patient_id)`,
];
