import type { Command } from 'commander';
import { backup } from '../backup/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { parsePositiveNumber } from './flag-values.js';
import { formatCount, jsonLine } from './format.js';
import { runCommand } from './run-command.js';

interface BackupCliOptions {
  plan: string;
  out: string;
  jobs?: string;
  pgDump?: string;
  json?: boolean;
  secretsDir?: string;
}

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description(
      'pg_dump -Fd of every moving table of the monolith at an exact LSN, with a manifest (emergency path before cutover)',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--out <dir>', 'directory to write (must not exist, or be empty)')
    .option('--jobs <n>', 'tables dumped at once (pg_dump -j, default 2)')
    .option(
      '--pg-dump <path>',
      'the pg_dump to run (pg_restore from the same directory); default: beside the server binaries, else $PATH',
    )
    .option('--json', 'one JSON line per event, then the result')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: BackupCliOptions) =>
      runCommand(options, async () => {
        const jobs = parsePositiveNumber('--jobs', options.jobs);
        const { routing } = await prepareRouting(options.plan, {
          logins: { secretsDir: options.secretsDir },
        });
        const result = await backup({
          routing,
          outDir: options.out,
          ...(jobs === undefined ? {} : { jobs }),
          ...(options.pgDump === undefined ? {} : { pgDump: options.pgDump }),
          onEvent: (event) => {
            if (options.json) process.stdout.write(jsonLine(event));
          },
        });
        if (options.json) {
          process.stdout.write(jsonLine({ type: 'backup-result', ...result }));
          return;
        }
        const tables = result.manifest.tables.filter((t) => !t.partitionOf);
        const rows = tables.reduce((sum, t) => sum + t.rows, 0);
        process.stdout.write(
          `backup of ${tables.length} moving tables (${formatCount(rows)} rows) at monolith LSN ${result.manifest.lsn}\n` +
            `  directory  ${result.dir}\n` +
            `  manifest   ${result.manifestFile}\n` +
            `  pg_dump    ${result.manifest.pgDumpVersion}, ${result.manifest.tocEntries} entries checked with pg_restore --list\n` +
            `  recorded   in ${result.recordedIn.length ? result.recordedIn.join(', ') : 'no service database (none provisioned)'}\n` +
            `  took       ${result.seconds.toFixed(1)} s\n`,
        );
      }),
    );
}
