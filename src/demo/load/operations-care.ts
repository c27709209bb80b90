import {
  COMPLAINTS,
  DOSAGES,
  FIRST_NAMES_FOR_LOAD,
  FREQUENCIES,
  LAB_UNITS,
  LAST_NAMES,
  NOTE_WORDS,
  REACTIONS,
  SEVERITIES,
} from './load-words.js';
import type { TxContext } from './tx-context.js';

/** Operations on patients and their care: each runs inside one transaction. */

export async function newPatient(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const first = rng.pick(FIRST_NAMES_FOR_LOAD);
  const last = rng.pick(LAST_NAMES);
  const [patient] = await tx.write<{ id: string }>(
    'inserted',
    'patients',
    `INSERT INTO public.patients (mrn, first_name, last_name, date_of_birth, sex, email, phone, primary_hospital_id, tags)
     VALUES ($1, $2, $3, DATE '2024-12-31' - $4::int, $5::public.sex, $6, $7, $8, $9::text[]) RETURNING id`,
    [
      `MRN-${tx.tag}-${rng.hex(10)}`,
      first,
      last,
      rng.int(0, 90 * 365),
      rng.chance(0.5) ? 'female' : 'male',
      rng.chance(0.6)
        ? `${first}.${last}.${rng.hex(6)}@example.org`.toLowerCase().replace(/[^a-z0-9.@]/g, '')
        : null,
      rng.chance(0.85) ? `+1-${rng.int(200, 989)}-555-${String(rng.int(0, 9999)).padStart(4, '0')}` : null,
      rng.pick(ref.physicians).hospitalId,
      rng.chance(0.2) ? ['hypertension'] : [],
    ],
  );
  const patientId = Number(patient!.id);
  tx.noteInserted('patients', patientId);
  await tx.write(
    'inserted',
    'insurance_info',
    `INSERT INTO public.insurance_info (patient_id, payer_id, policy_number, coverage_start, is_primary, copay)
     VALUES ($1, $2, $3, current_date, true, $4)`,
    [patientId, rng.pick(ref.payers), `POL-${tx.tag}-${rng.hex(12)}`, 5 * rng.int(0, 15)],
  );
  for (let i = rng.int(0, 2); i > 0; i--) {
    await tx.write(
      'inserted',
      'patient_allergies',
      `INSERT INTO public.patient_allergies (patient_id, allergen, allergen_type, reaction, reaction_severity, noted_on)
       VALUES ($1, $2, $3, $4, $5, current_date) RETURNING id`,
      [
        patientId,
        rng.pick(['Penicillin', 'Peanuts', 'Latex', 'Shellfish', 'Sulfonamides']),
        rng.pick(['drug', 'food', 'environmental']),
        rng.pick(REACTIONS),
        rng.pick(SEVERITIES),
      ],
    );
  }
  await tx.write(
    'inserted',
    'emergency_contacts',
    `INSERT INTO public.emergency_contacts (patient_id, name, relationship, phone, is_primary) VALUES ($1, $2, $3, $4, true)`,
    [
      patientId,
      `${rng.pick(FIRST_NAMES_FOR_LOAD)} ${last}`,
      rng.pick(['spouse', 'parent', 'child', 'sibling']),
      `+1-555-${rng.int(1000, 9999)}`,
    ],
  );
}

export async function consultation(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const patient = await tx.pick<{ id: string }>('patients', 'id');
  if (!patient) return;
  const doctor = rng.pick(ref.physicians);
  const [row] = await tx.write<{ id: string }>(
    'inserted',
    'consultations',
    `INSERT INTO public.consultations (patient_id, staff_id, hospital_id, department_id, consultation_type, status, chief_complaint, started_at)
     VALUES ($1, $2, $3, $4, $5, 'open', $6, now()) RETURNING id`,
    [
      patient.id,
      doctor.id,
      doctor.hospitalId,
      doctor.departmentId,
      rng.pick(['outpatient', 'follow_up', 'emergency', 'telehealth']),
      rng.pick(COMPLAINTS),
    ],
  );
  const consultationId = Number(row!.id);
  tx.noteInserted('consultations', consultationId);
  for (let i = rng.int(1, 2); i > 0; i--) {
    await tx.write(
      'inserted',
      'diagnoses',
      `INSERT INTO public.diagnoses (consultation_id, system_code_id, is_primary, diagnosed_at) VALUES ($1, $2, $3, now())`,
      [consultationId, rng.pick(ref.icdCodes), i === 1],
    );
  }
  for (let i = rng.int(0, 2); i > 0; i--) {
    const [rx] = await tx.write<{ id: string }>(
      'inserted',
      'prescriptions',
      `INSERT INTO public.prescriptions (consultation_id, patient_id, prescriber_id, medication_id, dosage, frequency, quantity, refills, status, prescribed_at, valid_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', now(), current_date + 90) RETURNING id`,
      [
        consultationId,
        patient.id,
        doctor.id,
        rng.pick(ref.medications),
        rng.pick(DOSAGES),
        rng.pick(FREQUENCIES),
        rng.int(7, 90),
        rng.int(0, 5),
      ],
    );
    tx.noteInserted('prescriptions', Number(rx!.id));
  }
  const [note] = await tx.write<{ id: string }>(
    'inserted',
    'clinical_notes',
    `INSERT INTO public.clinical_notes (consultation_id, author_id, note_type, body, metadata)
     VALUES ($1, $2, 'progress', $3, $4::jsonb) RETURNING id`,
    [
      consultationId,
      doctor.id,
      prose(tx, rng.int(200, 1500)),
      JSON.stringify({ template: 'progress-v1', signed: false }),
    ],
  );
  tx.noteInserted('clinical_notes', Number(note!.id));
  await tx.write(
    'inserted',
    'vital_signs',
    `INSERT INTO public.vital_signs (consultation_id, patient_id, readings, recorded_by, recorded_at) VALUES ($1, $2, $3::jsonb, $4, now())`,
    [
      consultationId,
      patient.id,
      JSON.stringify({
        systolic: rng.int(95, 170),
        diastolic: rng.int(55, 100),
        heart_rate: rng.int(50, 120),
        spo2: rng.int(88, 100),
      }),
      rng.pick(ref.nurses).id,
    ],
  );
}

export async function prescriptionFill(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const rx = await tx.pick<{ id: string; quantity: number }>('prescriptions', 'id, quantity', { lock: true });
  if (!rx) return;
  await tx.write(
    'inserted',
    'prescription_fills',
    `INSERT INTO public.prescription_fills (prescription_id, inventory_id, pharmacist_id, quantity, copay, filled_at)
     VALUES ($1, $2, $3, $4, $5, now())`,
    [rx.id, rng.pick(ref.inventory), rng.pick(ref.pharmacists).id, rx.quantity, 5 * rng.int(0, 4)],
  );
  await tx.write(
    'updated',
    'prescriptions',
    `UPDATE public.prescriptions SET refills = greatest(refills - 1, 0), updated_at = now() WHERE id = $1`,
    [rx.id],
  );
}

export async function labOrder(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const visit = await tx.pick<{ id: string; patient_id: string; staff_id: string }>(
    'consultations',
    'id, patient_id, staff_id',
  );
  if (!visit) return;
  const [order] = await tx.write<{ id: string }>(
    'inserted',
    'lab_orders',
    `INSERT INTO public.lab_orders (consultation_id, patient_id, ordered_by, test_definition_id, priority, status, ordered_at)
     VALUES ($1, $2, $3, $4, $5, 'resulted', now()) RETURNING id`,
    [
      visit.id,
      visit.patient_id,
      visit.staff_id,
      rng.pick(ref.testDefinitions),
      rng.pick(['routine', 'routine', 'urgent', 'stat']),
    ],
  );
  const [specimen] = await tx.write<{ id: string }>(
    'inserted',
    'specimens',
    `INSERT INTO public.specimens (lab_order_id, barcode, specimen_type, collected_at, collected_by)
     VALUES ($1, $2, $3, now(), $4) RETURNING id`,
    [
      order!.id,
      `SP-${tx.tag}-${rng.hex(12)}`,
      rng.pick(['serum', 'whole blood', 'urine']),
      rng.pick(ref.nurses).id,
    ],
  );
  await tx.write(
    'inserted',
    'lab_results',
    `INSERT INTO public.lab_results (lab_order_id, specimen_id, value_numeric, unit, reference_range, abnormal_flag, resulted_at, verified_by)
     VALUES ($1, $2, $3, $4, '0-100', $5, now(), $6)`,
    [
      order!.id,
      specimen!.id,
      (rng.next() * 200).toFixed(3),
      rng.pick(LAB_UNITS),
      rng.chance(0.2) ? 'H' : null,
      rng.pick(ref.labTechnicians).id,
    ],
  );
}

/** Replace a note body with a long dictation (4–40 KB: stored out of line) and amend its jsonb. */
export async function noteUpdate(tx: TxContext): Promise<void> {
  const note = await tx.pick<{ id: string }>('clinical_notes', 'id', { lock: true });
  if (!note) return;
  const body = prose(tx, tx.rng.int(4096, 40960));
  await tx.write(
    'updated',
    'clinical_notes',
    `UPDATE public.clinical_notes SET body = $2, metadata = metadata || $3::jsonb, updated_at = now() WHERE id = $1`,
    [note.id, body, JSON.stringify({ amended: true, word_count: Math.round(body.length / 7) })],
  );
}

/** Replace a document's attachment (2–100 KB of bytes). */
export async function documentUpdate(tx: TxContext): Promise<void> {
  const { rng } = tx;
  const pick = `SELECT id FROM public.patient_documents WHERE id >= $1::uuid ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`;
  const found =
    (await tx.query<{ id: string }>('patient_documents', pick, [rng.uuid()])).rows[0] ??
    (await tx.query<{ id: string }>('patient_documents', pick, ['00000000-0000-0000-0000-000000000000']))
      .rows[0];
  if (!found) return;
  const content = rng.bytes(rng.int(2048, 102_400));
  await tx.write(
    'updated',
    'patient_documents',
    `UPDATE public.patient_documents SET content = $2, byte_size = $3, updated_at = now() WHERE id = $1`,
    [found.id, content, content.length],
  );
}

/** Non-key columns only: contact details and tags. */
export async function patientUpdate(tx: TxContext): Promise<void> {
  const { rng } = tx;
  const patient = await tx.pick<{ id: string }>('patients', 'id', { lock: true });
  if (!patient) return;
  await tx.write(
    'updated',
    'patients',
    `UPDATE public.patients SET phone = $2, tags = $3::text[], updated_at = now() WHERE id = $1`,
    [
      patient.id,
      `+1-${rng.int(200, 989)}-555-${String(rng.int(0, 9999)).padStart(4, '0')}`,
      rng.chance(0.3) ? ['fall-risk'] : [],
    ],
  );
}

export async function allergyUpdate(tx: TxContext): Promise<void> {
  const { rng } = tx;
  const allergy = await tx.pick<{ id: string }>('patient_allergies', 'id', { lock: true });
  if (!allergy) return;
  await tx.write(
    'updated',
    'patient_allergies',
    `UPDATE public.patient_allergies SET reaction_severity = $2, is_active = $3, updated_at = now() WHERE id = $1`,
    [allergy.id, rng.pick(SEVERITIES), rng.chance(0.9)],
  );
}

/** Clinical prose of about `length` characters. */
function prose(tx: TxContext, length: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const word = tx.rng.chance(0.1) ? String(tx.rng.int(40, 200)) : tx.rng.pick(NOTE_WORDS);
    parts.push(word);
    size += word.length + 1;
  }
  return parts.join(' ').slice(0, length);
}
