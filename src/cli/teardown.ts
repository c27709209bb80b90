import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { readTeardownPlan, teardown } from '../migrate/teardown.js';
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
    .action((options: { plan: string; yes?: boolean; json?: boolean }) =>
      runCommand(options, async () => {
        const { routing } = await prepareRouting(options.plan);
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
