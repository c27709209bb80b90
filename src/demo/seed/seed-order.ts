import { analyticsSeeds } from './tables-analytics.js';
import { appointmentSeeds } from './tables-appointment.js';
import { authSeeds } from './tables-auth.js';
import { billingSeeds } from './tables-billing.js';
import { clinicalSeeds } from './tables-clinical.js';
import { laboratorySeeds } from './tables-laboratory.js';
import { patientSeeds } from './tables-patient.js';
import { pharmacySeeds } from './tables-pharmacy.js';
import { sharedSeeds } from './tables-shared.js';
import type { TableSeed } from './table-seed.js';

/** Every table's generator, parents before children (self-references point to lower ids). */
export function seedsInLoadOrder(): TableSeed[] {
  return [
    ...sharedSeeds(),
    ...authSeeds(),
    ...patientSeeds(),
    ...clinicalSeeds(),
    ...pharmacySeeds(),
    ...laboratorySeeds(),
    ...appointmentSeeds(),
    ...billingSeeds(),
    ...analyticsSeeds(),
  ];
}
