import { analyticsDdl } from './analytics.js';
import { appointmentDdl } from './appointment.js';
import { authDdl } from './auth.js';
import { billingDdl } from './billing.js';
import { clinicalDdl } from './clinical.js';
import { excludedDdl } from './excluded.js';
import { laboratoryDdl } from './laboratory.js';
import { patientDdl } from './patient.js';
import { pharmacyDdl } from './pharmacy.js';
import { sharedDdl } from './shared.js';
import { typesDdl } from './types.js';

/**
 * Every statement that creates the CareSync monolith, in an order where each foreign key's
 * target already exists. Unqualified names: the caller sets search_path to the target schema.
 */
export function monolithDdl(): string[] {
  return [
    ...typesDdl,
    ...sharedDdl,
    ...authDdl,
    ...patientDdl,
    ...clinicalDdl,
    ...pharmacyDdl,
    ...laboratoryDdl,
    ...appointmentDdl,
    ...billingDdl,
    ...analyticsDdl(),
    ...excludedDdl,
  ];
}
