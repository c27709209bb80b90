import { introspect } from '../catalog/introspect.js';
import type { Catalog } from '../catalog/model.js';
import { atMonolith, connect } from '../pg/connect.js';
import { loadPlan, type LoadPlanOptions } from '../plan/load.js';
import type { Plan } from '../plan/model.js';
import { buildRouting } from './build-routing.js';
import type { Routing } from './model.js';

export interface PreparedMigration {
  plan: Plan;
  catalog: Catalog;
  routing: Routing;
}

/**
 * Load a plan file, read the live monolith it names and resolve the plan on it. Reads only:
 * a plan that does not fit the monolith throws PLAN_INVALID before anything is written anywhere.
 */
export async function prepareRouting(
  file: string,
  options: LoadPlanOptions = {},
): Promise<PreparedMigration> {
  const plan = await loadPlan(file, options);
  const catalog = await readMonolith(plan.source);
  return { plan, catalog, routing: buildRouting(plan, catalog) };
}

/** The monolith's catalog; a connection failure names the monolith (CONNECTION_*). */
export async function readMonolith(url: string): Promise<Catalog> {
  const client = await connect(atMonolith(url), { applicationName: 'carve plan' });
  try {
    return await introspect(client);
  } finally {
    await client.end().catch(() => {});
  }
}
