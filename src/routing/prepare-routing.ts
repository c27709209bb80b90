import { introspect } from '../catalog/introspect.js';
import type { Catalog } from '../catalog/model.js';
import { atMonolith, openSession } from '../pg/connect.js';
import { loadPlan, type LoadPlanOptions } from '../plan/load.js';
import type { Plan } from '../plan/model.js';
import { buildRouting } from './build-routing.js';
import { withCarveLogins, type CarveLoginOptions } from './carve-logins.js';
import type { Routing } from './model.js';

export interface PreparedMigration {
  plan: Plan;
  catalog: Catalog;
  routing: Routing;
}

export interface PrepareRoutingOptions extends LoadPlanOptions {
  /**
   * Give each service's session URL its carve role's password (from `carve_password_env` or the
   * secrets dir): commands that connect to the service databases pass this.
   */
  logins?: CarveLoginOptions;
}

/**
 * Load a plan file, read the live monolith it names and resolve the plan on it. Reads only:
 * a plan that does not fit the monolith throws PLAN_INVALID before anything is written anywhere.
 */
export async function prepareRouting(
  file: string,
  options: PrepareRoutingOptions = {},
): Promise<PreparedMigration> {
  const plan = await loadPlan(file, options);
  const catalog = await readMonolith(plan.source);
  const routing = buildRouting(plan, catalog);
  const logins = options.logins && { ...(options.env ? { env: options.env } : {}), ...options.logins };
  return { plan, catalog, routing: logins ? withCarveLogins(routing, logins) : routing };
}

/** The monolith's catalog; a connection failure names the monolith (CONNECTION_*). */
export async function readMonolith(url: string): Promise<Catalog> {
  const client = await openSession(atMonolith(url), { applicationName: 'carve plan' });
  try {
    return await introspect(client);
  } finally {
    await client.end().catch(() => {});
  }
}
