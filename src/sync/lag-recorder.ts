import { openSession, type Client } from '../pg/connect.js';
import { quoteQualified } from '../pg/quote.js';
import type { Routing } from '../routing/model.js';
import type { TargetLag } from './events.js';

/** At most one write per target this often: `carve status` needs a recent value, not every tick. */
const RECORD_EVERY_MS = 2000;

/**
 * Writes the lag a running sync measures into each target's `<state>.migrations` row, so that
 * `carve status` (another process, reading only the databases) shows the same number: the
 * oldest missing commit is known only to the process that streams. Best effort and off the apply
 * path: a failed write is retried at the next tick on a new connection, and never stops sync.
 */
export class LagRecorder {
  private readonly clients = new Map<string, Client>();
  private readonly busy = new Set<string>();
  private readonly writtenAt = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly routing: Routing,
    private readonly applicationName: string,
  ) {}

  record(targets: readonly TargetLag[]): void {
    const now = Date.now();
    for (const target of targets) {
      const database = target.database;
      if (this.closed || this.busy.has(database)) continue;
      if (now - (this.writtenAt.get(database) ?? 0) < RECORD_EVERY_MS) continue;
      this.busy.add(database);
      this.writtenAt.set(database, now);
      void this.write(database, target).finally(() => this.busy.delete(database));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }

  private async write(database: string, target: TargetLag): Promise<void> {
    const service = this.routing.services.find((s) => s.database === database);
    if (!service) return;
    let client = this.clients.get(database);
    try {
      if (!client) {
        client = await openSession(service.url, {
          applicationName: `${this.applicationName} lag`,
          connectTimeoutMs: 5000,
          statementTimeoutMs: 5000,
        });
        if (this.closed) {
          await client.end();
          return;
        }
        this.clients.set(database, client);
      }
      await client.query(
        `UPDATE ${quoteQualified(this.routing.names.stateSchema, 'migrations')}
            SET lag_seconds = $2, lag_exact = $3, lag_at = pg_catalog.now()
          WHERE migration = $1`,
        [this.routing.names.migration, target.lagSeconds, target.lagExact],
      );
    } catch {
      // The target may be down (its applier reports that); start afresh next time.
      this.clients.delete(database);
      await client?.end().catch(() => {});
    }
  }
}
