import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { resync, type ResyncEvent } from '../resync/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { durationFlag } from './flag-values.js';
import { formatCount, jsonLine } from './format.js';
import { runCommand } from './run-command.js';

export function registerResyncCommand(program: Command): void {
  program
    .command('resync')
    .description(
      'Re-copy one table (its owner and projections) at a new snapshot, at its current shape, while sync streams the others',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--table <name>', 'the monolith table: schema.table, or table (public)')
    .option('--dry-run', 'print what would run (statements per database) and write nothing')
    .option('--json', 'one JSON line per event, then the result')
    .option('--chunk-rows <n>', 'rows per copied chunk (each merged in one short transaction)', '20000')
    .option(
      '--timeout <duration>',
      'how long the new snapshot may wait for transactions open on the monolith (sync waits meanwhile)',
      '5m',
    )
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action(
      (options: {
        plan: string;
        table: string;
        dryRun?: boolean;
        json?: boolean;
        secretsDir?: string;
        chunkRows: string;
        timeout: string;
      }) =>
        runCommand(options, async () => {
          const chunkRows = Number(options.chunkRows);
          if (!Number.isInteger(chunkRows) || chunkRows < 1) {
            throw new CarveError(
              'USAGE',
              `--chunk-rows must be a positive integer, not ${options.chunkRows}`,
              {
                hint: 'Use e.g. --chunk-rows 20000 (the default).',
              },
            );
          }
          const timeoutMs = durationFlag('--timeout', options.timeout, { minMs: 1000, maxMs: 86_400_000 });
          // The table's shape is read from the monolith now: that is what the new copy gets.
          const { routing, catalog } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          const out = (text: string) => process.stdout.write(text);
          const result = await resync({
            routing,
            catalog,
            table: options.table,
            dryRun: options.dryRun === true,
            chunkRows,
            timeoutMs,
            onEvent: (event) => (options.json ? out(jsonLine(event)) : out(describe(event))),
          });
          if (options.json) {
            out(jsonLine({ type: 'resync-result', ...result }));
            return;
          }
          if (result.dryRun) {
            out(`carve resync would re-create and re-copy ${result.table} (${result.routes.join(', ')}):\n`);
            for (const s of result.statements) out(`-- ${s.database} (as ${s.as})\n${s.sql};\n`);
            out('-- then: copy at a new snapshot, indexes and foreign keys (post-load)\n');
          }
        }),
    );
}

function describe(event: ResyncEvent): string {
  switch (event.type) {
    case 'resync-registered':
      return `Re-copying ${event.table} into ${event.routes.join(', ')} at snapshot ${event.snapshotLsn}; sync applies its later changes.\n`;
    case 'resync-chunk':
      return '';
    case 'resync-route-copied':
      return `  ${event.route}: ${formatCount(event.rows)} rows\n`;
    case 'resync-finished':
      return `Resync of ${event.table} done: ${formatCount(event.rows)} rows in ${event.seconds.toFixed(1)} s.\n`;
  }
}
