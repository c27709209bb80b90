import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { introspect } from '../../src/catalog/introspect.js';
import type { Catalog } from '../../src/catalog/model.js';
import { buildIndexesWithProvision } from '../../src/cli/copy.js';
import { copy, type CopyOptions } from '../../src/copy/index.js';
import type { CopyResult } from '../../src/copy/events.js';
import { withClient } from '../../src/pg/connect.js';
import { parsePlan } from '../../src/plan/load.js';
import { provision } from '../../src/provision/index.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { withCarveLogins } from '../../src/routing/carve-logins.js';
import type { Routing } from '../../src/routing/model.js';

/** A monolith database resolved against a plan, with its service databases provisioned for real. */
export interface ProvisionedMigration {
  catalog: Catalog;
  routing: Routing;
  planText: string;
  secretsDir: string;
}

export async function provisionMigration(sourceUrl: string, planText: string): Promise<ProvisionedMigration> {
  const catalog = await withClient(sourceUrl, (c) => introspect(c));
  const routing = buildRouting(parsePlan(planText, { env: {} }), catalog);
  const secretsDir = mkdtempSync(join(tmpdir(), 'carve-secrets-'));
  await provision(catalog, routing, { secretsDir });
  // carve's own sessions log in as each service's carve role, with the password provision wrote.
  return { catalog, routing: withCarveLogins(routing, { secretsDir }), planText, secretsDir };
}

export async function runCopy(routing: Routing, options: Partial<CopyOptions> = {}): Promise<CopyResult> {
  return copy({ routing, jobs: 2, buildIndexes: buildIndexesWithProvision, ...options });
}
