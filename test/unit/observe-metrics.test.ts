import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EventHub } from '../../src/event-hub.js';
import type { CarveEvents } from '../../src/migrate/events.js';
import type { MigrationStatus } from '../../src/migrate/status.js';
import { ERROR_KINDS, METRICS, SERVICE_PHASES } from '../../src/observe/metric-catalogue.js';
import { MigrationMetrics } from '../../src/observe/migration-metrics.js';
import { phasesFromStatus, type StatusSnapshot } from '../../src/observe/status-snapshot.js';
import { createSecretMask } from '../../src/observe/serve/secret-mask.js';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';
import { metricValue, parseMetrics } from '../support/metrics-text.js';
import { promtool } from '../support/promtool.js';

/** The registry's two feeds (engine events, polled status) without a database. */
const routing = buildRouting(
  parsePlan(
    `name: m
source: postgres://admin:S3cret-src@db.example/mono
target: postgres://admin@db.example/postgres?password=S3cret-tgt
services:
  a: { database: a_db, tables: { items: {} } }
  b: { database: b_db, tables: { orders: {} } }
`,
    { env: {} },
  ),
  catalogOf([tableOf('items', ['id', 'label'], { pk: ['id'] }), tableOf('orders', ['id'], { pk: ['id'] })]),
);
const ITEMS = 'a_db/public.items';

function status(overrides: Partial<MigrationStatus> = {}, rows = { items: 0, orders: 0 }): MigrationStatus {
  return {
    migration: 'm',
    phase: 'copying',
    missing: { databases: [], tables: [] },
    copy: {
      routes: [
        {
          routeId: ITEMS,
          database: 'a_db',
          rowsCopied: rows.items,
          estimatedRows: 100,
          chunks: 2,
          chunksDone: 1,
          chunksFailed: 0,
        },
        {
          routeId: 'b_db/public.orders',
          database: 'b_db',
          rowsCopied: rows.orders,
          estimatedRows: 100,
          chunks: 1,
          chunksDone: 1,
          chunksFailed: 0,
        },
      ],
      chunks: 3,
      chunksDone: 2,
      chunksFailed: 0,
      rowsCopied: rows.items + rows.orders,
      estimatedRows: 200,
      rowsPerSecond: 10,
      etaSeconds: 12,
      finished: false,
      catchUpError: null,
      failures: [],
    },
    sync: null,
    verify: null,
    slot: null,
    alerts: [],
    ...overrides,
  };
}

async function snapshotOf(s: MigrationStatus, at: number): Promise<StatusSnapshot> {
  return {
    at,
    status: s,
    services: await phasesFromStatus(routing, s),
    verifyDifferences: [],
    conflictsPending: 0,
  };
}

function setup() {
  let clock = 1_000_000;
  const metrics = new MigrationMetrics({ routing, version: 't', processMetrics: false, now: () => clock });
  const hub = new EventHub<CarveEvents>({ now: () => clock });
  return {
    metrics,
    hub,
    tick: (ms: number) => (clock += ms),
    now: () => clock,
    read: async (name: string, labels: Record<string, string> = {}) =>
      metricValue(parseMetrics(await metrics.text()), name, labels),
  };
}

describe('the metrics registry', () => {
  it('counts rows copied as the larger of the events and the copy log, never twice', async () => {
    const t = setup();
    t.metrics.attach(t.hub);
    const copy = t.hub.emitter('copy');
    copy({ type: 'chunk-done', routeId: ITEMS, chunkNo: 0, rows: 40, bytes: 1, ms: 1 });
    const labels = { database: 'a_db', table: 'public.items' };
    expect(await t.read(METRICS.recordsMigrated.name, labels)).toBe(40);
    copy({ type: 'chunk-published', routeId: ITEMS, chunkNo: 0, events: 40 });
    copy({ type: 'chunk-published', routeId: ITEMS, chunkNo: 1, events: 2 });
    expect(await t.read(METRICS.snapshotEvents.name, labels)).toBe(42);
    t.metrics.applySnapshot(await snapshotOf(status({}, { items: 30, orders: 5 }), t.now()));
    expect(await t.read(METRICS.recordsMigrated.name, labels)).toBe(40);
    t.metrics.applySnapshot(await snapshotOf(status({}, { items: 60, orders: 5 }), t.now()));
    expect(await t.read(METRICS.recordsMigrated.name, labels)).toBe(60);
    expect(await t.read(METRICS.recordsMigrated.name, { database: 'b_db', table: 'public.orders' })).toBe(5);
    expect(await t.read(METRICS.progress.name)).toBeCloseTo(65 / 200);
    expect(await t.read(METRICS.eta.name)).toBe(12);
    expect(await t.read(METRICS.tablesMigrated.name)).toBe(1);
    expect(await t.read(METRICS.tablesTotal.name)).toBe(2);
    expect(await t.read(METRICS.phase.name, { phase: 'copying' })).toBe(1);
    expect(await t.read(METRICS.servicePhase.name, { service: 'a', phase: 'copying' })).toBe(1);
    // Every phase of every service is a series (0 or 1), the cutover phases included.
    const text = await t.metrics.text();
    for (const phase of SERVICE_PHASES)
      expect(text).toContain(`migration_service_phase{service="b",phase="${phase}"}`);
  });

  it('takes lag from events while they come, from the databases when they stop', async () => {
    const t = setup();
    t.metrics.attach(t.hub);
    const target = {
      kind: 'applier',
      appliedLsn: '0/1',
      commitTime: null,
      changesPerSecond: 7,
      queuedBytes: 0,
      holdLsn: null,
      held: false,
      lagExact: true,
      refetchedRows: 0,
      totalChanges: 0,
      totalTransactions: 0,
    };
    t.hub.emit('sync', {
      type: 'lag',
      serverLsn: '0/10',
      receivedLsn: '0/10',
      acknowledgedLsn: '0/1',
      targets: [{ ...target, database: 'a_db', lagBytes: 15, lagSeconds: 2.5 }],
    });
    expect(await t.read(METRICS.lagSeconds.name, { database: 'a_db' })).toBe(2.5);
    expect(await t.read(METRICS.rate.name)).toBe(7);
    const slot = {
      name: 's',
      exists: true,
      active: true,
      confirmedFlushLsn: '0/1',
      retainedWalBytes: 4096,
      walStatus: 'reserved',
      safeWalBytes: null,
    };
    const polled = status({
      slot,
      phase: 'streaming',
      sync: {
        migration: 'm',
        running: true,
        serverLsn: '0/99',
        lastError: null,
        slot,
        targets: [
          {
            database: 'a_db',
            appliedLsn: '0/1',
            commitTime: null,
            updatedAt: null,
            lagBytes: 999,
            lagSeconds: 60,
            lagExact: true,
            holds: [],
            behindSlot: false,
            applyingFromKafka: false,
          },
        ],
      },
    });
    t.metrics.applySnapshot(await snapshotOf(polled, t.now()));
    expect(await t.read(METRICS.lagSeconds.name, { database: 'a_db' })).toBe(2.5);
    expect(await t.read(METRICS.slotRetainedWal.name)).toBe(4096);
    t.tick(6000);
    t.metrics.applySnapshot(await snapshotOf(polled, t.now()));
    expect(await t.read(METRICS.lagSeconds.name, { database: 'a_db' })).toBe(60);
    expect(await t.read(METRICS.lagBytes.name, { database: 'a_db' })).toBe(999);
    expect(await t.read(METRICS.statusAge.name)).toBe(0);
    t.tick(3000);
    expect(await t.read(METRICS.statusAge.name)).toBe(3);
  });

  it('counts errors from events, or from the databases when no engine runs here (each once)', async () => {
    const polledOnly = setup();
    for (const kind of ERROR_KINDS) expect(await polledOnly.read(METRICS.errors.name, { kind })).toBe(0);
    const failure = {
      routeId: ITEMS,
      chunkNo: 1,
      relation: 'public.items',
      lower: null,
      upper: null,
      sqlstate: '23514',
      error: 'x',
    };
    const failed = status({ phase: 'copy-failed' });
    failed.copy!.failures = [failure];
    polledOnly.metrics.applySnapshot(await snapshotOf(failed, polledOnly.now()));
    polledOnly.metrics.applySnapshot(await snapshotOf(failed, polledOnly.now()));
    expect(await polledOnly.read(METRICS.errors.name, { kind: 'copy_chunk_failed' })).toBe(1);

    const live = setup();
    live.metrics.attach(live.hub);
    live.hub.emit('copy', {
      type: 'chunk-failed',
      attempt: 1,
      willRetry: false,
      routeId: ITEMS,
      chunkNo: 1,
      relation: { schema: 'public', name: 'items' },
      method: 'key',
      lower: null,
      upper: null,
      sqlstate: '23514',
      message: 'x',
    });
    live.metrics.applySnapshot(await snapshotOf(failed, live.now()));
    expect(await live.read(METRICS.errors.name, { kind: 'copy_chunk_failed' })).toBe(1);
    live.hub.emit('sync', {
      type: 'sync-stopped',
      reason: 'failed',
      error: { code: 'SYNC_APPLY_FAILED', message: 'm', transient: false },
    });
    expect(await live.read(METRICS.errors.name, { kind: 'sync_failed' })).toBe(1);
    expect(await live.read(METRICS.syncFailed.name)).toBe(1);
  });

  it('sets data_inconsistency_detected to the mismatched rows and new orphans of the last verify', async () => {
    const t = setup();
    t.metrics.attach(t.hub);
    const verify = t.hub.emitter('verify');
    verify({
      type: 'verify-started',
      runId: 'r1',
      lsn: '0/1',
      alignment: 'hold-api',
      routes: 2,
      resumed: false,
    });
    verify({
      type: 'route-done',
      result: { routeId: ITEMS, missing: 2, extra: 0, different: 1, status: 'differs' } as never,
    });
    verify({
      type: 'foreign-key-done',
      result: {
        status: 'orphans',
        truncated: 0,
        orphans: [
          { key: {}, values: {}, preexisting: true },
          { key: {}, values: {}, preexisting: false },
        ],
      } as never,
    });
    verify({ type: 'verify-finished', ok: false, seconds: 1 });
    expect(await t.read(METRICS.inconsistency.name)).toBe(4);
    const run = { runId: 'r1', lsn: '0/1', startedAt: '2026-01-01', finishedAt: '2026-01-01', ok: false };
    t.metrics.applySnapshot(await snapshotOf(status({ verify: run }), t.now()));
    expect(await t.read(METRICS.inconsistency.name)).toBe(4);
    t.metrics.applySnapshot(await snapshotOf(status({ verify: { ...run, runId: 'r2', ok: true } }), t.now()));
    expect(await t.read(METRICS.inconsistency.name)).toBe(0);
  });

  it('follows the cutover phases and counts cutovers and rollbacks run here (promtool accepts it)', async () => {
    const t = setup();
    const snap = await snapshotOf(status({ phase: 'streaming' }), t.now());
    t.metrics.applySnapshot({
      ...snap,
      services: snap.services.map((row) => (row.service === 'a' ? { ...row, phase: 'cut-over' } : row)),
    });
    expect(await t.read(METRICS.servicePhase.name, { service: 'a', phase: 'cut-over' })).toBe(1);
    expect(await t.read(METRICS.servicePhase.name, { service: 'a', phase: 'streaming' })).toBe(0);
    expect(await t.read(METRICS.servicePhase.name, { service: 'b', phase: 'streaming' })).toBe(1);
    expect(await t.read(METRICS.servicePhase.name, { service: 'b', phase: 'rolling-back' })).toBe(0);

    t.metrics.recordServiceAction({ action: 'cutover', service: 'a', outcome: 'ok', windowSeconds: 1.5 });
    t.metrics.recordServiceAction({
      action: 'rollback',
      service: 'b',
      outcome: 'failed',
      windowSeconds: null,
    });
    t.metrics.recordServiceAction({
      action: 'cutover',
      service: 'b',
      outcome: 'failed',
      windowSeconds: null,
    });
    expect(await t.read(METRICS.cutoverWindow.name, { service: 'a' })).toBe(1.5);
    expect(await t.read(METRICS.cutoverWindow.name, { service: 'b' })).toBeUndefined();
    const actions = { action: 'cutover', service: 'a', outcome: 'ok' };
    expect(await t.read(`${METRICS.serviceActions.name}`, actions)).toBe(1);
    expect(await t.read(METRICS.errors.name, { kind: 'cutover_failed' })).toBe(1);
    expect(await t.read(METRICS.errors.name, { kind: 'rollback_failed' })).toBe(1);
    expect(await t.read(METRICS.errors.name, { kind: 'sync_failed' })).toBe(0);
    const run = promtool(['check', 'metrics'], await t.metrics.text());
    expect(run.code, run.output).toBe(0);

    // While the freeze holds, the window grows; a failure closes it at what this process saw.
    t.metrics.openServiceWindow('b');
    t.tick(2500);
    expect(await t.read(METRICS.cutoverWindow.name, { service: 'b' })).toBe(2.5);
    t.tick(500);
    t.metrics.recordServiceAction({
      action: 'cutover',
      service: 'b',
      outcome: 'failed',
      windowSeconds: null,
    });
    t.tick(10_000);
    expect(await t.read(METRICS.cutoverWindow.name, { service: 'b' })).toBe(3);
    // A finished one: the engine's measure (freeze → switch) wins.
    t.metrics.openServiceWindow('a');
    t.tick(4000);
    t.metrics.recordServiceAction({ action: 'cutover', service: 'a', outcome: 'ok', windowSeconds: 3.2 });
    expect(await t.read(METRICS.cutoverWindow.name, { service: 'a' })).toBe(3.2);
    expect(await t.read(METRICS.errors.name, { kind: 'cutover_failed' })).toBe(2);
  });

  it('is documented: every metric with its type and labels in docs/metrics.md', () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    for (const spec of Object.values(METRICS)) {
      const line = doc.split('\n').find((l) => l.startsWith(`| \`${spec.name}\``));
      expect(line, spec.name).toBeDefined();
      expect(line).toContain(spec.type);
      for (const label of spec.labels) expect(line).toContain(`\`${label}\``);
    }
    for (const kind of ERROR_KINDS) expect(doc).toContain(`\`${kind}\``);
  });
});

describe('the secret mask of carve serve', () => {
  it('masks the plan’s passwords (userinfo and ?password=) and the token wherever they appear', () => {
    const mask = createSecretMask(routing, ['tok-123456789']);
    const out = mask({
      a: 'connect to postgres://admin:S3cret-src@db.example/mono failed',
      b: ['password S3cret-tgt was wrong', 'bare S3cret-src', 'tok-123456789'],
      n: 5,
    });
    expect(JSON.stringify(out)).not.toMatch(/S3cret|tok-1/);
    expect(out.n).toBe(5);
  });
});
