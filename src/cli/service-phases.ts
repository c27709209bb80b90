import { readServicePhases, type ServicePhase } from '../cutover/index.js';
import type { ServicePhaseLabel } from '../observe/metric-catalogue.js';
import { phasesFromStatus, type ServicePhaseReader } from '../observe/status-snapshot.js';

// Every phase the cutover engine reports is a label value of migration_service_phase (so the
// alert rules and dashboards see it): this line stops compiling when cutover adds one.
const _cutoverPhasesAreLabels: ServicePhaseLabel = '' as ServicePhase;

/**
 * The service phases of the metrics and the dashboard: the cutover engine's phase once a service
 * left `streaming` (cutting-over, cut-over, rolling-back, completed), else the migration's phase as
 * carve status names it (not-provisioned, copying, streaming, verified …), which says more while
 * the monolith serves the service. A rolled-back service is served by the monolith again: the
 * migration's phase.
 */
export const cutoverPhaseReader: ServicePhaseReader = async (routing, status) => {
  const fromStatus = await phasesFromStatus(routing, status);
  // Nothing of carve on the monolith yet: no service can have started a cutover.
  if (status.missing.databases.length === routing.services.length) return fromStatus;
  const cutover = new Map((await readServicePhases(routing)).map((p) => [p.service, p.phase]));
  return fromStatus.map((row) => {
    const phase = cutover.get(row.service);
    return phase && phase !== 'streaming' ? { ...row, phase } : row;
  });
};
