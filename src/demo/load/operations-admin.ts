import { randomUUID } from 'node:crypto';
import { COMPLAINTS } from './load-words.js';
import type { TxContext } from './tx-context.js';

/** Operations on scheduling, billing and access: each runs inside one transaction. */

/** An upcoming appointment at or after a random time (through the partial index), locked. */
async function pickUpcoming(tx: TxContext): Promise<{ id: string; slot_id: string | null } | undefined> {
  const span = tx.ref.upcoming;
  const sql = `SELECT id, slot_id FROM public.appointments
                WHERE status IN ('scheduled', 'confirmed') AND scheduled_at >= to_timestamp($1::float8 / 1000)
                ORDER BY scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED`;
  const from = span.from + Math.floor(tx.rng.next() * Math.max(0, span.to - span.from));
  const found = await tx.query<{ id: string; slot_id: string | null }>('appointments', sql, [from]);
  return (
    found.rows[0] ??
    (await tx.query<{ id: string; slot_id: string | null }>('appointments', sql, [span.from])).rows[0]
  );
}

export async function appointmentBook(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const patient = await tx.pick<{ id: string }>('patients', 'id');
  if (!patient) return;
  const doctor = rng.pick(ref.physicians);
  const type = rng.pick(ref.appointmentTypes);
  const [row] = await tx.write<{ id: string }>(
    'inserted',
    'appointments',
    `INSERT INTO public.appointments (patient_id, staff_id, hospital_id, appointment_type_id, scheduled_at, duration_minutes, status, reason)
     VALUES ($1, $2, $3, $4, date_trunc('hour', now()) + make_interval(days => $5, hours => $6), $7, 'scheduled', $8) RETURNING id`,
    [
      patient.id,
      doctor.id,
      doctor.hospitalId,
      type.id,
      rng.int(1, 60),
      rng.int(8, 16),
      type.minutes,
      rng.pick(COMPLAINTS),
    ],
  );
  tx.noteInserted('appointments', Number(row!.id));
}

/** Move an upcoming appointment by some days, releasing its slot. */
export async function appointmentReschedule(tx: TxContext): Promise<void> {
  const appt = await pickUpcoming(tx);
  if (!appt) return;
  await tx.write(
    'updated',
    'appointments',
    `UPDATE public.appointments
        SET scheduled_at = greatest(scheduled_at, now()) + make_interval(days => $2), slot_id = NULL, status = 'scheduled', updated_at = now()
      WHERE id = $1`,
    [appt.id, tx.rng.int(1, 21)],
  );
  await releaseSlot(tx, appt.slot_id);
}

export async function appointmentCancel(tx: TxContext): Promise<void> {
  const appt = await pickUpcoming(tx);
  if (!appt) return;
  await tx.write(
    'updated',
    'appointments',
    `UPDATE public.appointments SET status = 'cancelled', cancelled_at = now(), cancel_reason = $2, updated_at = now() WHERE id = $1`,
    [appt.id, tx.rng.pick(['patient request', 'provider unavailable', 'weather', 'insurance issue'])],
  );
  await releaseSlot(tx, appt.slot_id);
}

async function releaseSlot(tx: TxContext, slotId: string | null): Promise<void> {
  if (slotId === null) return;
  await tx.write(
    'updated',
    'availability_slots',
    `UPDATE public.availability_slots SET is_booked = false WHERE id = $1`,
    [slotId],
  );
}

/** Pay a submitted or accepted claim in full: claim status, a payment row, the invoice settled. */
export async function claimPayment(tx: TxContext): Promise<void> {
  const claim = await tx.pick<{ id: string; amount_claimed: string; invoice_id: string | null }>(
    'claims',
    'id, amount_claimed, invoice_id',
    { where: `status IN ('submitted', 'accepted')`, lock: true },
  );
  if (!claim) return;
  await tx.write(
    'updated',
    'claims',
    `UPDATE public.claims SET status = 'paid', amount_approved = amount_claimed,
            adjudicated_at = coalesce(adjudicated_at, now()), updated_at = now() WHERE id = $1`,
    [claim.id],
  );
  await tx.write(
    'inserted',
    'payments',
    `INSERT INTO public.payments (claim_id, invoice_id, amount, method, reference, paid_at) VALUES ($1, $2, $3, 'insurance', $4, now())`,
    [claim.id, claim.invoice_id, claim.amount_claimed, `PMT-${tx.tag}-${tx.rng.hex(12)}`],
  );
  if (claim.invoice_id !== null) {
    await tx.write(
      'updated',
      'invoices',
      `UPDATE public.invoices SET status = 'paid', updated_at = now() WHERE id = $1`,
      [claim.invoice_id],
    );
  }
}

/** A new waitlist request, and one cancelled or booked entry removed. */
export async function waitlistChurn(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  const patient = await tx.pick<{ id: string }>('patients', 'id');
  if (!patient) return;
  const [row] = await tx.write<{ id: string }>(
    'inserted',
    'waitlist_entries',
    `INSERT INTO public.waitlist_entries (patient_id, department_id, appointment_type_id, priority, status, requested_at)
     VALUES ($1, $2, $3, $4, 'waiting', now()) RETURNING id`,
    [patient.id, rng.pick(ref.departments), rng.pick(ref.appointmentTypes).id, rng.int(1, 5)],
  );
  tx.noteInserted('waitlist_entries', Number(row!.id));
  const gone = await tx.pick<{ id: string }>('waitlist_entries', 'id', {
    where: `status IN ('cancelled', 'booked')`,
    lock: true,
  });
  if (gone)
    await tx.write('deleted', 'waitlist_entries', `DELETE FROM public.waitlist_entries WHERE id = $1`, [
      gone.id,
    ]);
}

/** A login (new session) and the clean-up of one expired session. */
export async function sessionChurn(tx: TxContext): Promise<void> {
  const { rng, ref } = tx;
  await tx.write(
    'inserted',
    'sessions',
    `INSERT INTO public.sessions (id, profile_id, created_at, expires_at, ip_address, user_agent)
     VALUES ($1, $2, now(), now() + interval '8 hours', $3::inet, 'CareSyncMobile/4.2 (iPhone; iOS 17.1)')`,
    // Session ids must be unique across runs with the same seed, so they are not drawn from it.
    [randomUUID(), rng.pick(ref.profiles), `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`],
  );
  const pick = `SELECT id FROM public.sessions WHERE id >= $1::uuid AND expires_at < now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`;
  const expired =
    (await tx.query<{ id: string }>('sessions', pick, [rng.uuid()])).rows[0] ??
    (await tx.query<{ id: string }>('sessions', pick, ['00000000-0000-0000-0000-000000000000'])).rows[0];
  if (expired)
    await tx.write('deleted', 'sessions', `DELETE FROM public.sessions WHERE id = $1`, [expired.id]);
}

/** A patient withdraws a consent: the row goes (nothing references consents). */
export async function consentDelete(tx: TxContext): Promise<void> {
  const consent = await tx.pick<{ id: string }>('consents', 'id', { lock: true });
  if (consent)
    await tx.write('deleted', 'consents', `DELETE FROM public.consents WHERE id = $1`, [consent.id]);
}
