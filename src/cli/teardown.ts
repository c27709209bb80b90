import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { readServicePhases } from '../cutover/status.js';
import { readTeardownPlan, teardown } from '../migrate/teardown.js';
import type { Routing } from '../routing/model.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { formatBytes, jsonLine } from './format.js';
import { runCommand } from './run-command.js';

export function registerTeardownCommand(program: Command): void {
  program
    .command('teardown')
    .description(
      "Drop the migration's replication slot and publication from the monolith (the slot keeps WAL until dropped)",
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--yes', 'really drop them: streaming into the service databases cannot resume afterwards')
    .option('--json', 'print the result as one JSON object')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: { plan: string; yes?: boolean; json?: boolean; secretsDir?: string }) =>
      runCommand(options, async () => {
        // The service databases are read (is a service cut over?) as carve's roles, as by cancel.
        const { routing } = await prepareRouting(options.plan, {
          logins: { secretsDir: options.secretsDir },
        });
        await refuseWhileServicesMoved(routing);
        if (!options.yes) {
          const plan = await readTeardownPlan(routing);
          const what = [
            plan.slot.exists
              ? `replication slot ${plan.slot.name} (retaining ${formatBytes(Number(plan.slot.retainedBytes ?? 0))} of WAL)`
              : null,
            plan.publication.exists ? `publication ${plan.publication.name}` : null,
          ].filter((w) => w !== null);
          if (what.length === 0) {
            process.stdout.write(
              options.json ? jsonLine(plan) : 'Nothing of this migration is left on the monolith.\n',
            );
            return;
          }
          throw new CarveError('USAGE', `carve teardown would drop ${what.join(' and ')} on the monolith`, {
            details: { ...plan },
            hint: 'Run it again with --yes. Streaming into the service databases cannot resume afterwards.',
          });
        }
        const result = await teardown(routing);
        if (options.json) process.stdout.write(jsonLine(result));
        else
          process.stdout.write(
            `slot ${result.slot.name}: ${result.slotDropped ? 'dropped' : 'not there'}\n` +
              `publication ${result.publication.name}: ${result.publicationDropped ? 'dropped' : 'not there'}\n`,
          );
      }),
    );
}

/**
 * A cut-over service's writes reach the monolith only through its reverse stream, which carve sync
 * runs beside the forward stream, on this slot: dropping the slot strands them (status then asks for
 * carve sync, and sync for a fresh migration). Once the slot is gone already, there is nothing to
 * protect, and teardown only drops what is left.
 */
async function refuseWhileServicesMoved(routing: Routing): Promise<void> {
  const plan = await readTeardownPlan(routing);
  if (!plan.slot.exists) return;
  const moved = (await readServicePhases(routing)).filter(
    (p) => p.phase === 'cutting-over' || p.phase === 'cut-over' || p.phase === 'rolling-back',
  );
  if (moved.length === 0) return;
  throw new CarveError(
    'TEARDOWN_SERVICE_CUT_OVER',
    `Service${moved.length > 1 ? 's' : ''} ${moved.map((p) => `${p.service} (${p.phase})`).join(', ')} left the monolith: without slot ${plan.slot.name}, carve sync cannot stream ${moved.length > 1 ? 'their' : 'its'} writes back`,
    {
      details: { slot: plan.slot.name, services: moved.map((p) => ({ service: p.service, phase: p.phase })) },
      hint: `Give each back to the monolith or retire its monolith copy first (${moved.map((p) => `carve rollback --plan <file> --service ${p.service}`).join('; ')}; or carve complete --plan <file> --service <name> --yes), then run carve teardown again.`,
    },
  );
}
