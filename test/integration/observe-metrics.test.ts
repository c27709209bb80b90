import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub } from '../../src/event-hub.js';
import type { CarveEvents } from '../../src/migrate/events.js';
import { METRICS } from '../../src/observe/metric-catalogue.js';
import { startMetricsEndpoint, type MetricsEndpoint } from '../../src/observe/metrics-endpoint.js';
import { withClient } from '../../src/pg/connect.js';
import { parseLsn } from '../../src/pg/lsn.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { waitFor } from '../support/cluster.js';
import { prepareMigration, runCopy, useMigrationClusters, type Migration } from '../support/migration.js';
import { metricValue, parseMetrics } from '../support/metrics-text.js';
import { promtool } from '../support/promtool.js';
import { startDashboardServer } from '../../src/observe/serve/dashboard-server.js';

/**
 * The metrics follow a real migration on real clusters: rows copied per table from the copy log,
 * lag that rises while the apply is held and falls once it is released, changes applied, the slot,
 * and an exposition that `promtool check metrics` accepts.
 */
let m: Migration;
let hub: EventHub<CarveEvents>;
let endpoint: MetricsEndpoint;
let engine: SyncEngine | undefined;

beforeAll(async () => {
  m = await prepareMigration(await useMigrationClusters('obs-metrics'), {
    name: 'obsmetrics',
    monolithSql: `CREATE TABLE items (id bigint PRIMARY KEY, label text);
                  INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 3000) g;
                  CREATE TABLE orders (id bigint PRIMARY KEY, item_id bigint, qty int);
                  INSERT INTO orders SELECT g, g % 3000 + 1, g % 7 FROM generate_series(1, 1200) g;
                  ANALYZE;`,
    planBody: `services:
  catalog: { database: obs_catalog, tables: { items: {} } }
  sales: { database: obs_sales, tables: { orders: {} } }
`,
  });
  hub = new EventHub<CarveEvents>();
  endpoint = await startMetricsEndpoint({ routing: m.routing, hub, port: 0, version: 'test', pollMs: 300 });
});

afterAll(async () => {
  await engine?.stop();
  await endpoint?.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(endpoint.url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return metricValue(parseMetrics(await scrape()), name, labels);
}

describe('metrics of a live migration', () => {
  it('count the copy from the copy log, and pass promtool check metrics', async () => {
    await waitFor(async () => (await value(METRICS.phase.name, { phase: 'provisioned' })) === 1, {
      what: 'the first read of the databases',
    });
    expect(await value(METRICS.tablesTotal.name)).toBe(2);

    const copied = await runCopy(m.routing).then(() => true);
    expect(copied).toBe(true);
    await waitFor(async () => (await value(METRICS.phase.name, { phase: 'copied' })) === 1, {
      what: 'phase copied',
    });
    const text = await scrape();
    const samples = parseMetrics(text);
    expect(metricValue(samples, METRICS.tablesMigrated.name)).toBe(2);
    expect(
      metricValue(samples, METRICS.recordsMigrated.name, { database: 'obs_catalog', table: 'public.items' }),
    ).toBe(3000);
    expect(
      metricValue(samples, METRICS.recordsMigrated.name, { database: 'obs_sales', table: 'public.orders' }),
    ).toBe(1200);
    expect(metricValue(samples, METRICS.progress.name)).toBe(1);
    expect(metricValue(samples, METRICS.eta.name)).toBe(0);
    expect(metricValue(samples, METRICS.phase.name, { phase: 'copied' })).toBe(1);
    expect(metricValue(samples, METRICS.servicePhase.name, { service: 'sales', phase: 'copied' })).toBe(1);
    expect(metricValue(samples, METRICS.servicePhase.name, { service: 'sales', phase: 'cut-over' })).toBe(0);
    expect(metricValue(samples, METRICS.conflictsPending.name)).toBe(0);
    expect(metricValue(samples, METRICS.errors.name, { kind: 'copy_chunk_failed' })).toBe(0);
    expect(metricValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metricValue(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(metricValue(samples, METRICS.slotRetainedWal.name)).toBeGreaterThan(0);
    expect(metricValue(samples, METRICS.slotActive.name)).toBe(0);

    const check = promtool(['check', 'metrics'], text);
    expect(check.code, check.output).toBe(0);
    // Every metric of the catalogue is exported, with its type.
    for (const spec of Object.values(METRICS)) expect(text).toContain(`# TYPE ${spec.name} ${spec.type}`);
  });

  it('lag rises while the apply is held and falls once it is released', async () => {
    engine = await startSync({ routing: m.routing, onEvent: hub.emitter('sync'), holdPollMs: 100 });
    await engine.waitForCatchUp();
    await waitFor(async () => (await value(METRICS.slotActive.name)) === 1, { what: 'slot active' });
    const applied = (await value(METRICS.changesApplied.name, { database: 'obs_catalog' })) ?? 0;

    const lsn = await withClient(m.sourceUrl, async (c) =>
      parseLsn((await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l),
    );
    await engine.holdAt(lsn);
    const write = (i: number) =>
      withClient(m.sourceUrl, async (c) => {
        await c.query(`INSERT INTO items VALUES ($1, 'held')`, [10_000 + i]);
        await c.query(`INSERT INTO orders VALUES ($1, 1, 1)`, [10_000 + i]);
      });
    for (let i = 0; i < 5; i++) await write(i);
    const firstLag = await waitFor(
      async () => {
        const v = await value(METRICS.lagSeconds.name, { database: 'obs_catalog' });
        return v !== undefined && v > 0 ? v : undefined;
      },
      { what: 'lag seconds above 0 while held' },
    );
    expect(await value(METRICS.lagBytes.name, { database: 'obs_sales' })).toBeGreaterThan(0);
    const rising = await waitFor(
      async () => {
        const v = (await value(METRICS.lagSeconds.name, { database: 'obs_catalog' })) ?? 0;
        return v >= firstLag + 1.5 ? v : undefined;
      },
      { what: 'lag seconds rising while held' },
    );
    expect(rising).toBeGreaterThan(firstLag);

    engine.release();
    await engine.waitForCatchUp();
    await waitFor(
      async () =>
        (await value(METRICS.lagSeconds.name, { database: 'obs_catalog' })) === 0 &&
        (await value(METRICS.lagSeconds.name, { database: 'obs_sales' })) === 0,
      { what: 'lag back to 0 after release' },
    );
    await waitFor(
      async () =>
        ((await value(METRICS.changesApplied.name, { database: 'obs_catalog' })) ?? 0) >= applied + 5,
      { what: 'changes applied counted' },
    );
    expect(await value(METRICS.phase.name, { phase: 'streaming' })).toBe(1);
    expect(await value(METRICS.statusAge.name)).toBeLessThan(5);
  });

  it('carve serve in the same process streams the engines’ events to the page', async () => {
    const token = 'same-process-token-0123456789';
    const server = await startDashboardServer({ routing: m.routing, hub, token, port: 0 });
    try {
      const headers = { authorization: `Bearer ${token}` };
      const status = await (await fetch(`${server.url}api/status`, { headers })).json();
      expect(status).toMatchObject({ migration: 'obsmetrics', phase: 'streaming' });
      const controller = new AbortController();
      const response = await fetch(`${server.url}api/events`, { headers, signal: controller.signal });
      const reader = response.body!.getReader();
      let text = '';
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !(text.includes('event: lag') && text.includes('event: snapshot'))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      controller.abort();
      expect(text).toContain('event: snapshot');
      expect(text).toContain('event: lag'); // from the hub, every second, not from polling
    } finally {
      await server.close();
    }
  });

  it('a stopped sync shows an inactive slot', async () => {
    await engine!.stop();
    engine = undefined;
    await waitFor(async () => (await value(METRICS.slotActive.name)) === 0, { what: 'slot inactive' });
    expect(await value(METRICS.syncFailed.name)).toBe(0);
  });
});
