import type { Command } from 'commander';
import { prepareRouting } from '../routing/prepare-routing.js';
import {
  addMetricsOptions,
  checkMetricsFlags,
  parsePort,
  startCliMetricsEndpoint,
  type MetricsFlags,
} from './metrics-option.js';
import { runCommand } from './run-command.js';
import { startCliDashboard } from './serve-option.js';
import { abortOnSignals } from './signals.js';

export const DEFAULT_SERVE_PORT = 7070;

export function registerServeCommand(program: Command): void {
  addMetricsOptions(program.command('serve'))
    .description(
      'The status API and a live web dashboard of a migration (which may run in another process), until stopped',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--port <port>', `dashboard port (default ${DEFAULT_SERVE_PORT}; 0: any free port)`)
    .option('--host <host>', 'address the dashboard listens on (default 127.0.0.1)')
    .option(
      '--secrets-dir <dir>',
      "where the token file serve.token is kept (mode 0600), and carve's role passwords (default ~/.carve/secrets/<migration>)",
    )
    .option('--json', 'an error as one JSON line on stdout')
    .action(
      (
        options: {
          plan: string;
          port?: string;
          host?: string;
          secretsDir?: string;
          json?: boolean;
        } & MetricsFlags,
      ) =>
        runCommand(options, async () => {
          const port = options.port === undefined ? DEFAULT_SERVE_PORT : parsePort('--port', options.port);
          checkMetricsFlags(options);
          const { routing } = await prepareRouting(options.plan, {
            logins: { secretsDir: options.secretsDir },
          });
          const signal = abortOnSignals();
          const { metrics, stop: stopMetrics } = await startCliMetricsEndpoint(options, routing, undefined);
          const stopDashboard = await startCliDashboard(routing, {
            port,
            host: options.host,
            secretsDir: options.secretsDir,
            metrics,
          }).catch(async (error: unknown) => {
            await stopMetrics();
            throw error;
          });
          await new Promise<void>((resolve) =>
            signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          await stopDashboard();
          await stopMetrics();
        }),
    );
}
