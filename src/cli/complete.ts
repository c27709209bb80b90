import type { Command } from 'commander';
import { complete } from '../cutover/index.js';
import { CarveError } from '../errors.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { jsonLine } from './format.js';
import { runCommand } from './run-command.js';

export function registerCompleteCommand(program: Command): void {
  program
    .command('complete')
    .description(
      "Retire the monolith's copy of a cut-over service: drop the reverse stream, take its tables out of the publication (they stay frozen)",
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--service <name>', 'the cut-over service')
    .option('--rename-source-tables', 'rename the monolith tables to <table>_carved')
    .option('--yes', 'really do it: rollback is impossible afterwards')
    .option('--json', 'print the result as one JSON object')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action(
      (options: {
        plan: string;
        service: string;
        renameSourceTables?: boolean;
        yes?: boolean;
        json?: boolean;
        secretsDir?: string;
      }) =>
        runCommand(options, async () => {
          if (!options.yes) {
            throw new CarveError(
              'USAGE',
              `carve complete would retire the monolith's copy of ${options.service}`,
              {
                details: { service: options.service },
                hint: 'Run it again with --yes. The reverse stream is dropped: carve rollback is impossible afterwards.',
              },
            );
          }
          const { routing } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          const result = await complete({
            routing,
            service: options.service,
            renameSourceTables: options.renameSourceTables === true,
          });
          if (options.json) process.stdout.write(jsonLine(result));
          else
            process.stdout.write(
              result.alreadyDone
                ? `service ${result.service} was already completed\n`
                : `service ${result.service} completed: reverse stream dropped; ${result.unpublished.length} table(s) left the publication` +
                    (result.renamed.length
                      ? `; renamed ${result.renamed.map((r) => `${r.from} → ${r.to}`).join(', ')}`
                      : '') +
                    '\n',
            );
        }),
    );
}
