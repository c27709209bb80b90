import { CarveError } from '../../errors.js';
import type { OperationKind } from './load-types.js';
import { OPERATION_KINDS } from './load-types.js';
import * as admin from './operations-admin.js';
import * as analytics from './operations-analytics.js';
import * as care from './operations-care.js';
import type { Prng } from './prng.js';
import type { TxContext } from './tx-context.js';

export const OPERATIONS: Record<OperationKind, (tx: TxContext) => Promise<void>> = {
  new_patient: care.newPatient,
  consultation: care.consultation,
  prescription_fill: care.prescriptionFill,
  lab_order: care.labOrder,
  appointment_book: admin.appointmentBook,
  appointment_reschedule: admin.appointmentReschedule,
  appointment_cancel: admin.appointmentCancel,
  claim_payment: admin.claimPayment,
  note_update: care.noteUpdate,
  document_update: care.documentUpdate,
  patient_update: care.patientUpdate,
  allergy_update: care.allergyUpdate,
  waitlist_churn: admin.waitlistChurn,
  session_churn: admin.sessionChurn,
  consent_delete: admin.consentDelete,
  analytics_ingest: analytics.analyticsIngest,
};

/**
 * The default OLTP mix, relative weights (about percent): mostly clinical inserts, a steady share of
 * updates, a few deletes, and measurements into the partitioned analytics_data.
 */
export const DEFAULT_MIX: Readonly<Record<OperationKind, number>> = {
  new_patient: 8,
  consultation: 14,
  prescription_fill: 10,
  lab_order: 10,
  appointment_book: 5,
  appointment_reschedule: 8,
  appointment_cancel: 4,
  claim_payment: 8,
  note_update: 6,
  document_update: 3,
  patient_update: 8,
  allergy_update: 4,
  waitlist_churn: 4,
  session_churn: 5,
  consent_delete: 3,
  analytics_ingest: 5,
};

/** A chooser over the weighted kinds: one uniform draw picks the kind. */
export function operationChooser(
  overrides: Partial<Record<OperationKind, number>> = {},
): (rng: Prng) => OperationKind {
  const unknown = Object.keys(overrides).filter((k) => !(OPERATION_KINDS as readonly string[]).includes(k));
  const weights = OPERATION_KINDS.map((kind) => overrides[kind] ?? DEFAULT_MIX[kind]);
  const total = weights.reduce((a, b) => a + b, 0);
  if (unknown.length > 0 || weights.some((w) => !(w >= 0)) || total <= 0) {
    throw new CarveError('DEMO_LOAD_BAD_MIX', `Invalid operation mix: ${JSON.stringify(overrides)}`, {
      details: { unknown, kinds: [...OPERATION_KINDS] },
      hint: 'Give non-negative weights for known operation kinds, not all zero.',
    });
  }
  return (rng) => {
    let x = rng.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return OPERATION_KINDS[i]!;
    }
    return OPERATION_KINDS[OPERATION_KINDS.length - 1]!;
  };
}
