import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { recover, type RecoverResult } from '../recover/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { formatCount, jsonLine, renderTable } from './format.js';
import { runCommand, type CommandOutcome } from './run-command.js';

interface RecoverCliOptions {
  plan: string;
  service: string;
  yes?: boolean;
  dryRun?: boolean;
  verify: boolean;
  json?: boolean;
  secretsDir?: string;
}

export function registerRecoverCommand(program: Command): void {
  program
    .command('recover')
    .description(
      "Copy a service's owned rows back into the monolith in one transaction (when reverse replication is broken or never ran), then verify",
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--service <name>', 'the service whose rows are the truth')
    .option('--yes', 'really write to the monolith (without it: a dry run, and exit 2)')
    .option('--dry-run', 'do everything in the monolith transaction, print the counts, roll it back')
    .option('--no-verify', 'skip the verify of the service tables after the commit')
    .option('--json', 'one JSON line per event, then the result')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: RecoverCliOptions) => runCommand(options, () => run(options)));
}

async function run(options: RecoverCliOptions): Promise<CommandOutcome> {
  const { routing } = await prepareRouting(options.plan, { logins: { secretsDir: options.secretsDir } });
  const dryRun = options.dryRun === true || options.yes !== true;
  const result = await recover({
    routing,
    service: options.service,
    dryRun,
    verify: options.verify,
    onEvent: (event) => {
      if (options.json && event.type !== 'recover-table') process.stdout.write(jsonLine(event));
    },
  });
  if (!options.yes && !options.dryRun) {
    const { inserted, updated, deleted } = result.totals;
    throw new CarveError(
      'USAGE',
      `carve recover would insert ${inserted}, update ${updated} and delete ${deleted} rows of the monolith's copy of ${result.database} (nothing was written)`,
      {
        details: { ...result },
        hint: 'Check the counts (--dry-run prints them per table), then run it again with --yes.',
      },
    );
  }
  if (options.json) process.stdout.write(jsonLine({ type: 'recover-result', ...result }));
  else process.stdout.write(render(result));
  return result.verify && !result.verify.ok ? { exit: 'mismatch' } : undefined;
}

function render(result: RecoverResult): string {
  const rows = result.tables.map((t) => [
    t.monolithTable,
    t.serviceTable,
    formatCount(t.rows),
    formatCount(t.inserted),
    formatCount(t.updated),
    formatCount(t.deleted),
  ]);
  const numeric = ['service rows', 'inserted', 'updated', 'deleted'];
  const verify =
    result.verify === null
      ? result.verifyError
        ? `could not run: ${result.verifyError.code}: ${result.verifyError.message}`
        : 'not run'
      : result.verify.ok
        ? 'OK: the monolith matches the service tables'
        : 'DIFFERENCES: run carve verify --tables … for the keys';
  return (
    `${result.dryRun ? 'DRY RUN (rolled back): ' : ''}recover of ${result.service} (${result.database}) into the monolith, under origin ${result.origin}\n\n` +
    `${renderTable(['monolith table', 'service table', 'service rows', 'inserted', 'updated', 'deleted'], rows, numeric)}\n\n` +
    (result.reverseRestarted
      ? `reverse stream   set up again (its slot was gone): ${result.reverseRestarted.slot} from ${result.reverseRestarted.startLsn}; start carve sync to run it\n`
      : '') +
    `sequences moved  ${result.sequences.length ? result.sequences.map((s) => `${s.sequence} → ${s.value}`).join(', ') : 'none'}\n` +
    `verify           ${verify}\n` +
    `took             ${result.seconds.toFixed(1)} s\n`
  );
}
