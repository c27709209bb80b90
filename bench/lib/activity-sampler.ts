/**
 * Samples pg_stat_activity on some servers while a measured step runs, for profiling: where the
 * backends spend their time (CPU, I/O, locks, waiting for the client) per application.
 */
import { connect, type Client } from '../../src/pg/connect.js';

export interface ActivitySample {
  at: number;
  server: string;
  app: string;
  backend: string;
  state: string;
  wait: string;
  query: string;
}

export interface ActivitySampler {
  stop(): Promise<ActivitySample[]>;
}

/** Every `intervalMs`, one row per non-idle client or parallel-worker backend on each server. */
export async function sampleActivity(
  servers: Record<string, string>,
  intervalMs = 500,
): Promise<ActivitySampler> {
  const clients: [string, Client][] = [];
  for (const [name, url] of Object.entries(servers)) {
    clients.push([name, await connect(url, { applicationName: 'bench activity sampler' })]);
  }
  const samples: ActivitySample[] = [];
  const started = performance.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = (performance.now() - started) / 1000;
      for (const [server, client] of clients) {
        const { rows } = await client.query<Omit<ActivitySample, 'at' | 'server'>>(
          `SELECT coalesce(nullif(application_name, ''), backend_type) AS app, backend_type AS backend,
                  coalesce(state, '') AS state,
                  coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait,
                  left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query
             FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND backend_type IN ('client backend', 'parallel worker', 'walsender')
              AND state IS DISTINCT FROM 'idle'`,
        );
        for (const r of rows) samples.push({ at, server, ...r });
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop.catch(() => {});
      for (const [, c] of clients) await c.end().catch(() => {});
      return samples;
    },
  };
}

/** Sample counts per server/app/wait, most frequent first. */
export function summarizeActivity(samples: ActivitySample[]): string[] {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key = `${s.server} ${s.app} [${s.state}] ${s.wait}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n).padStart(6)} ${k}`);
}
