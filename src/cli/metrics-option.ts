import type { Command } from 'commander';
import { CarveError, errorText } from '../errors.js';
import type { EventHub } from '../event-hub.js';
import type { CarveEvents } from '../migrate/events.js';
import type { MigrationMetrics } from '../observe/migration-metrics.js';
import { redactText } from '../pg/redact.js';
import type { Routing } from '../routing/model.js';
import { numberFlag } from './flag-values.js';
import { carveVersion } from '../version.js';

export interface MetricsFlags {
  metricsPort?: string;
  metricsHost?: string;
}

/** `--metrics-port N` and `--metrics-host H`, on every long-running command. */
export function addMetricsOptions(command: Command): Command {
  return command
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0: any free port)',
    )
    .option('--metrics-host <host>', 'address the metrics port listens on (default 127.0.0.1)');
}

/** A TCP port from the command line (0 … 65535; 0 lets the OS pick), or USAGE naming the flag. */
export function parsePort(flag: string, value: string): number {
  return numberFlag(flag, value, { min: 0, max: 65535, integer: true, example: '9187' });
}

/** Check the flags before any work starts (bad input fails before any write). */
export function checkMetricsFlags(flags: MetricsFlags): number | undefined {
  if (flags.metricsHost !== undefined && flags.metricsPort === undefined)
    throw new CarveError('USAGE', '--metrics-host needs --metrics-port', {
      hint: 'Add --metrics-port <port>, or leave --metrics-host out.',
    });
  return flags.metricsPort === undefined ? undefined : parsePort('--metrics-port', flags.metricsPort);
}

/**
 * Start the metrics endpoint when --metrics-port is given; returns how to stop it. The address goes
 * to stderr (stdout stays the command's own output); a failed read of the databases is said once.
 */
export async function startCliMetrics(
  flags: MetricsFlags,
  routing: Routing,
  hub: EventHub<CarveEvents> | undefined,
): Promise<() => Promise<void>> {
  return (await startCliMetricsEndpoint(flags, routing, hub)).stop;
}

/**
 * startCliMetrics, also handing out the registry (undefined without --metrics-port), for a command
 * that records what no hub carries (cutover, rollback: src/cli/serve-actions.ts). Service phases
 * come from the cutover engine (src/cli/service-phases.ts).
 */
export async function startCliMetricsEndpoint(
  flags: MetricsFlags,
  routing: Routing,
  hub: EventHub<CarveEvents> | undefined,
): Promise<{ metrics: MigrationMetrics | undefined; stop: () => Promise<void> }> {
  const port = checkMetricsFlags(flags);
  if (port === undefined) return { metrics: undefined, stop: async () => {} };
  // Loaded here, not at the top: prom-client and the status readers cost CPU at every start of a
  // command that mostly runs without --metrics-port.
  const [{ startMetricsEndpoint }, { cutoverPhaseReader }] = await Promise.all([
    import('../observe/metrics-endpoint.js'),
    import('./service-phases.js'),
  ]);
  let warned = false;
  const endpoint = await startMetricsEndpoint({
    routing,
    hub,
    port,
    host: flags.metricsHost,
    version: carveVersion,
    readPhases: cutoverPhaseReader,
    onPollError: (error) => {
      if (warned) return;
      warned = true;
      process.stderr.write(
        `carve: reading the status for the metrics failed: ${redactText(errorText(error))}\n`,
      );
    },
  });
  process.stderr.write(`carve: metrics at ${endpoint.url}\n`);
  return { metrics: endpoint.metrics, stop: () => endpoint.close() };
}
