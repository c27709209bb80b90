import type { EventHub } from '../event-hub.js';
import type { CarveEvents } from '../migrate/events.js';
import type { Routing } from '../routing/model.js';
import { MigrationMetrics } from './migration-metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { startStatusPoller } from './status-poller.js';
import type { ServicePhaseReader } from './status-snapshot.js';

export interface MetricsEndpointOptions {
  routing: Routing;
  /** The hub this process's engines publish on (absent: the values come from the databases only). */
  hub?: EventHub<CarveEvents>;
  port: number;
  host?: string;
  version: string;
  /** How often the databases are read (default 5000 ms). */
  pollMs?: number;
  readPhases?: ServicePhaseReader;
  /** A read of the databases failed (the last values stay; migration_status_age_seconds grows). */
  onPollError?: (error: unknown) => void;
}

export interface MetricsEndpoint {
  url: string;
  port: number;
  metrics: MigrationMetrics;
  close(): Promise<void>;
}

/**
 * What `--metrics-port` starts beside a command: the registry listening to the command's hub, a
 * poller reading the databases, and the HTTP server for Prometheus.
 */
export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const metrics = new MigrationMetrics({ routing: options.routing, version: options.version });
  const server = await startMetricsServer({ metrics, port: options.port, host: options.host });
  const detach = options.hub ? metrics.attach(options.hub) : () => {};
  const poller = startStatusPoller({
    routing: options.routing,
    intervalMs: options.pollMs,
    readPhases: options.readPhases,
    onSnapshot: (snapshot) => metrics.applySnapshot(snapshot),
    onError: options.onPollError,
  });
  return {
    url: server.url,
    port: server.port,
    metrics,
    async close() {
      detach();
      await poller.stop();
      await server.close();
    },
  };
}
