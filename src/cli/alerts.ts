import type { Command } from 'commander';
import { writeAlertFiles } from '../observe/alert-files.js';
import { loadPlan } from '../plan/load.js';
import { sizeFlag } from './flag-values.js';
import { jsonLine } from './format.js';
import { runCommand } from './run-command.js';

export function registerAlertsCommand(program: Command): void {
  program
    .command('alerts')
    .description(
      'Write Prometheus alert rules (with promtool tests) and a Grafana dashboard with its provisioning file',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .requiredOption('--out <dir>', 'directory to write the files into (created if missing)')
    .option('--wal-warn <size>', 'alert when the slot keeps more WAL than this, e.g. 10GB (default 10GB)')
    .option('--grafana-path <dir>', 'where Grafana reads dashboards (named in the provisioning file)')
    .option('--json', 'print the written files as JSON')
    .action(
      (options: { plan: string; out: string; walWarn?: string; grafanaPath?: string; json?: boolean }) =>
        runCommand(options, async () => {
          const walWarn = options.walWarn === undefined ? undefined : sizeFlag('--wal-warn', options.walWarn);
          const plan = await loadPlan(options.plan);
          const files = writeAlertFiles(plan, options.out, {
            retainedWalBytes: walWarn,
            grafanaDashboardsPath: options.grafanaPath,
          });
          process.stdout.write(
            options.json
              ? jsonLine({ type: 'alerts', files })
              : `${files.map((f) => `wrote ${f}`).join('\n')}\n` +
                  `check with: promtool check rules ${files[0]} && promtool test rules ${files[1]}\n`,
          );
        }),
    );
}
