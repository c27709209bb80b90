import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import type { EventHub } from '../event-hub.js';
import type { CarveEvents } from '../migrate/events.js';
import type { MigrationMetrics } from '../observe/migration-metrics.js';
import { defaultSecretsDir } from '../provision/role-secrets.js';
import type { Routing } from '../routing/model.js';
import { parsePort } from './metrics-option.js';

export interface ServeFlags {
  servePort?: string;
  serveHost?: string;
  secretsDir?: string;
}

/** `--serve-port N`: the dashboard of `carve serve`, fed by this command's own events. */
export function addServeOptions(command: Command): Command {
  return command
    .option(
      '--serve-port <port>',
      'also serve the dashboard (as carve serve does) on this port, fed live by this command',
    )
    .option('--serve-host <host>', 'address the dashboard listens on (default 127.0.0.1)');
}

export function checkServeFlags(flags: ServeFlags): number | undefined {
  if (flags.serveHost !== undefined && flags.servePort === undefined)
    throw new CarveError('USAGE', '--serve-host needs --serve-port', {
      hint: 'Add --serve-port <port>, or leave --serve-host out.',
    });
  return flags.servePort === undefined ? undefined : parsePort('--serve-port', flags.servePort);
}

/**
 * Start the dashboard: token from $CARVE_SERVE_TOKEN or its 0600 file (whose path, never the
 * token, is printed), actions logged on stderr. Returns how to stop it.
 */
export async function startCliDashboard(
  routing: Routing,
  options: {
    port: number;
    host?: string;
    secretsDir?: string;
    hub?: EventHub<CarveEvents>;
    /** The metrics of this process (--metrics-port), where the page's actions are counted. */
    metrics?: MigrationMetrics;
  },
): Promise<() => Promise<void>> {
  // Loaded here, not at the top: the dashboard server and the cutover actions it offers cost CPU at
  // every start of a command that mostly runs without --serve-port.
  const [
    { startDashboardServer },
    { resolveServeToken, SERVE_TOKEN_ENV },
    { cutoverServiceActions },
    { cutoverPhaseReader },
  ] = await Promise.all([
    import('../observe/serve/dashboard-server.js'),
    import('../observe/serve/serve-token.js'),
    import('./serve-actions.js'),
    import('./service-phases.js'),
  ]);
  const token = resolveServeToken(options.secretsDir ?? defaultSecretsDir(routing.names.migration));
  const server = await startDashboardServer({
    routing,
    token: token.token,
    port: options.port,
    host: options.host,
    hub: options.hub,
    readPhases: cutoverPhaseReader,
    actions: cutoverServiceActions(routing, () => options.metrics),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const where = token.file ? `the token is in ${token.file}` : `the token is $${SERVE_TOKEN_ENV}`;
  process.stderr.write(`carve: dashboard at ${server.url} — open ${server.url}?token=<token> (${where})\n`);
  return () => server.close();
}

export async function startServeFlag(
  flags: ServeFlags,
  routing: Routing,
  hub: EventHub<CarveEvents>,
): Promise<() => Promise<void>> {
  const port = checkServeFlags(flags);
  if (port === undefined) return async () => {};
  return startCliDashboard(routing, { port, host: flags.serveHost, secretsDir: flags.secretsDir, hub });
}
