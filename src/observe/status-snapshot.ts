import { atService, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { readMigrationStatus, type MigrationStatus } from '../migrate/status.js';
import type { Routing } from '../routing/model.js';
import type { ServicePhaseLabel } from './metric-catalogue.js';

/** Where one service stands (migration_service_phase, the dashboard's service rows). */
export interface ServicePhaseRow {
  service: string;
  database: string;
  /** One of SERVICE_PHASES (a phase a newer carve adds still passes through). */
  phase: ServicePhaseLabel | (string & {});
}

/**
 * Reads each service's phase. The default derives it from `carve status`; the command line plugs in
 * the cutover engine's phases (cutting-over, cut-over, rolling-back, completed) through this seam
 * (src/cli/service-phases.ts), since observe does not import cutover (layer rule, eslint.config.js).
 */
export type ServicePhaseReader = (routing: Routing, status: MigrationStatus) => Promise<ServicePhaseRow[]>;

/** A verify segment (a key range of one table) whose rows differed, as the databases record it. */
export interface VerifyDifference {
  routeId: string;
  database: string;
  lower: string | null;
  upper: string | null;
  sourceRows: number | null;
  targetRows: number | null;
}

/** Everything the metrics and the dashboard read from the databases, at one moment. */
export interface StatusSnapshot {
  /** When it was read, ms since the epoch. */
  at: number;
  /** Exactly what `carve status --json` prints. */
  status: MigrationStatus;
  services: ServicePhaseRow[];
  /** Differing segments of the last verify run (empty when it matched or none ran). */
  verifyDifferences: VerifyDifference[];
  /** Conflicts in the manual queue; 0 until carve has one. */
  conflictsPending: number;
}

/** Every service shares the migration's phase, except one whose database or tables are missing. */
export const phasesFromStatus: ServicePhaseReader = async (routing, status) =>
  routing.services.map((service) => {
    const missing =
      status.missing.databases.includes(service.database) ||
      status.missing.tables.some((t) => t.startsWith(`${service.database}.`));
    return {
      service: service.name,
      database: service.database,
      phase: missing ? 'not-provisioned' : status.phase,
    };
  });

/** Read the status (and what the dashboard shows beside it) from the databases. Reads only. */
export async function readStatusSnapshot(
  routing: Routing,
  readPhases: ServicePhaseReader = phasesFromStatus,
): Promise<StatusSnapshot> {
  const status = await readMigrationStatus(routing);
  const services = await readPhases(routing, status);
  const verifyDifferences =
    status.verify?.ok === false ? await readVerifyDifferences(routing, status.verify.runId) : [];
  return { at: Date.now(), status, services, verifyDifferences, conflictsPending: 0 };
}

async function readVerifyDifferences(routing: Routing, runId: string): Promise<VerifyDifference[]> {
  const out: VerifyDifference[] = [];
  const table = quoteQualified(routing.names.stateSchema, 'verify_segments');
  for (const service of routing.services) {
    const rows = await withSession(atService(service.url), async (c) => {
      // A database that no verify ran in has no verify tables yet.
      const present = await c.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
      if (!present.rows[0].present) return [];
      const result = await c.query(
        `SELECT route_id, lower_bound, upper_bound, source_rows::float8 AS source_rows, target_rows::float8 AS target_rows
           FROM ${table} WHERE run_id = $1 AND status = 'differs' ORDER BY route_id, segment_no LIMIT 100`,
        [runId],
      );
      return result.rows;
    });
    for (const r of rows)
      out.push({
        routeId: r.route_id,
        database: service.database,
        lower: r.lower_bound,
        upper: r.upper_bound,
        sourceRows: r.source_rows,
        targetRows: r.target_rows,
      });
  }
  return out;
}
