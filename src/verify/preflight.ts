import { atService, openSession } from '../pg/connect.js';
import { assertNoForeignObjects } from '../sync/target-guard.js';
import type { RunResources } from './run-resources.js';
import type { VerifyScope } from './run-scope.js';

/**
 * Before reading any target table: carve's state session in every verified database, nothing
 * planted there that could run (docs/security.md), verify's state tables at the current version.
 */
export async function openStateSessions(scope: VerifyScope, run: RunResources): Promise<void> {
  const { stateSchema } = scope.routing.names;
  await Promise.all(
    scope.services.map(async (s) => {
      const client = await openSession(atService(s.url), { applicationName: scope.applicationName });
      run.stateClients.set(s.database, client);
      await assertNoForeignObjects(client, s, stateSchema, 'verify');
      await scope.state.ensure(client);
    }),
  );
}
