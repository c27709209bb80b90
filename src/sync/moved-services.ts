import { atMonolith, atService, withSession } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';

/** A service whose database may hold writes the monolith does not have. */
export interface MovedService {
  service: string;
  database: string;
  phase: 'cutting-over' | 'cut-over' | 'rolling-back' | 'completed';
}

/**
 * The services that left the monolith (cut over, being cut over or rolled back, completed): the
 * start-over recipe must not drop their databases. Read here from the cutover journal in each
 * service database and the monolith's freeze records (tables of src/state: state-schema.ts,
 * monolith-schema.ts) rather than through src/cutover, because sync is the lowest engine and
 * cutover builds on it. Reads only; a database or table that is not there counts as not moved.
 */
export async function readMovedServices(routing: Routing): Promise<MovedService[]> {
  const { stateSchema, migration } = routing.names;
  const present = 'SELECT pg_catalog.to_regclass($1) IS NOT NULL AS present';
  const frozen = await withSession(atMonolith(routing.sourceUrl), async (c) => {
    const table = quoteQualified(stateSchema, 'freezes');
    if (!(await c.query(present, [table])).rows[0].present) return new Set<string>();
    const { rows } = await c.query(`SELECT DISTINCT service FROM ${table} WHERE migration = $1`, [migration]);
    return new Set(rows.map((r: { service: string }) => r.service));
  });
  const moved: MovedService[] = [];
  for (const service of routing.services) {
    let phase: string | null = null;
    try {
      phase = await withSession(atService(service.url), async (c) => {
        const table = quoteQualified(stateSchema, 'cutovers');
        if (!(await c.query(present, [table])).rows[0].present) return null;
        const { rows } = await c.query(`SELECT phase FROM ${table} WHERE migration = $1 AND service = $2`, [
          migration,
          service.name,
        ]);
        return (rows[0]?.phase as string | undefined) ?? null;
      });
    } catch (error) {
      const state = sqlStateOf(error);
      if (state !== SqlState.invalidCatalogName && state !== SqlState.invalidAuthorizationSpecification)
        throw error;
    }
    if (phase === 'cut-over' || phase === 'rolling-back' || phase === 'completed')
      moved.push({ service: service.name, database: service.database, phase });
    else if (frozen.has(service.name))
      moved.push({ service: service.name, database: service.database, phase: 'cutting-over' });
  }
  return moved;
}

const PHASE_WORDS: Record<MovedService['phase'], string> = {
  'cutting-over': 'being cut over',
  'cut-over': 'cut over',
  'rolling-back': 'being rolled back',
  completed: 'completed',
};

/** "patient is cut over" */
export function movedPhrase(moved: MovedService): string {
  return `${moved.service} is ${PHASE_WORDS[moved.phase]}`;
}

/** " (patient is cut over)" for a message, or "" when nothing moved. */
export function movedSuffix(moved: readonly MovedService[]): string {
  if (moved.length === 0) return '';
  return ` (${moved.map(movedPhrase).join(', ')})`;
}
