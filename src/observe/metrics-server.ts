import { createServer } from 'node:http';
import { closeServer, DEFAULT_HOST, listen, urlHost } from './listen.js';
import type { MigrationMetrics } from './migration-metrics.js';

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * GET /metrics in Prometheus' text format, for a scraper. Bound to 127.0.0.1 unless a host is
 * given. The metrics hold no secret (no URL, no password, no row values); everything else is 404.
 */
export async function startMetricsServer(options: {
  metrics: MigrationMetrics;
  port: number;
  host?: string;
}): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_HOST;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(path === '/metrics' ? 'GET only\n' : 'carve serves /metrics here\n');
      return;
    }
    options.metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('collecting the metrics failed\n');
      },
    );
  });
  const port = await listen(server, host, options.port, 'metrics server');
  return { url: `http://${urlHost(host)}:${port}/metrics`, port, close: () => closeServer(server) };
}
