import type { Command } from 'commander';
import { cancel } from '../cutover/index.js';
import { CarveError } from '../errors.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { jsonLine } from './format.js';
import { runCommand } from './run-command.js';

export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description(
      "Abandon a migration in which no service is cut over: remove freezes, the slot, the publication and carve's schema on the monolith",
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--drop-databases', 'also drop the service databases')
    .option('--yes', 'really do it')
    .option('--json', 'print the result as one JSON object')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action(
      (options: {
        plan: string;
        dropDatabases?: boolean;
        yes?: boolean;
        json?: boolean;
        secretsDir?: string;
      }) =>
        runCommand(options, async () => {
          if (!options.yes) {
            throw new CarveError('USAGE', 'carve cancel would abandon this migration', {
              details: { dropDatabases: options.dropDatabases === true },
              hint: 'Run it again with --yes. Streaming into the service databases cannot resume afterwards.',
            });
          }
          const { routing } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          const result = await cancel({ routing, dropDatabases: options.dropDatabases === true });
          if (options.json) process.stdout.write(jsonLine(result));
          else
            process.stdout.write(
              [
                `freezes removed: ${[...result.unfrozen, ...result.unfrozenInService].join(', ') || 'none'}`,
                `slot ${result.teardown.slot.name}: ${result.teardown.slotDropped ? 'dropped' : 'not there'}`,
                `publication ${result.teardown.publication.name}: ${result.teardown.publicationDropped ? 'dropped' : 'not there'}`,
                `carve's schema on the monolith: ${result.monolithSchemaDropped ? 'dropped' : 'not there'}`,
                ...(options.dropDatabases
                  ? [`databases dropped: ${result.droppedDatabases.join(', ') || 'none'}`]
                  : []),
              ].join('\n') + '\n',
            );
        }),
    );
}
