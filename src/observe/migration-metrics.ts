import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { EventHub, HubEvent, Unsubscribe } from '../event-hub.js';
import type { CarveEvents } from '../migrate/events.js';
import type { Routing } from '../routing/model.js';
import {
  ERROR_KINDS,
  METRICS,
  MIGRATION_PHASES,
  SERVICE_PHASES,
  type ErrorKind,
  type MetricSpec,
} from './metric-catalogue.js';
import type { StatusSnapshot } from './status-snapshot.js';

/** A cutover or rollback that ran in this process (the cutover engine's result, told by src/cli). */
export interface ServiceActionRecord {
  action: 'cutover' | 'rollback';
  service: string;
  outcome: 'ok' | 'failed';
  /** Writes unavailable, seconds (null when not measured by this run, e.g. already done). */
  windowSeconds: number | null;
}

export interface MigrationMetricsOptions {
  routing: Routing;
  /** carve's version (migration_info). */
  version: string;
  /** Export process CPU, memory and event-loop metrics too (default true). */
  processMetrics?: boolean;
  now?: () => number;
}

/** Events newer than this win over values read from the databases (lag, slot activity). */
const LIVE_MS = 5_000;
/** The copy rate is taken over this window of finished chunks (as carve status does). */
const RATE_WINDOW_MS = 60_000;

/**
 * carve's metrics in a registry of their own (never prom-client's global one). Two feeds keep it
 * current, and neither calls an engine:
 *
 * - `observe()`, a hub listener: the events of engines running in this process (lag every second,
 *   chunks, applied batches, errors, verify results), as they happen;
 * - `applySnapshot()`: what the databases record (`carve status`), read every few seconds, which
 *   also covers a migration running in another process.
 *
 * Counters follow the larger of the two (the copy log is the truth for rows copied), so nothing is
 * counted twice when both feed the registry.
 */
export class MigrationMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;
  private readonly routing: Routing;
  private readonly gauges: Map<string, Gauge<string>> = new Map();
  private readonly counters: Map<string, Counter<string>> = new Map();
  /** Rows counted so far per route (records counter). */
  private readonly recorded = new Map<string, number>();
  private readonly copyWindow: { at: number; rows: number }[] = [];
  private syncRate = 0;
  private lastLagEventAt = 0;
  private lastStreamEventAt = 0;
  private streaming = false;
  /** Set once an engine of this process emitted an event: errors are then counted from events only. */
  private live = false;
  private readonly seenFailures = new Set<string>();
  private lastSyncErrorAt: string | null = null;
  private verifyRun: { runId: string; rows: number; orphans: number; sequences: number } | null = null;
  private liveInconsistency: { runId: string; value: number } | null = null;
  private lastSnapshotAt: number | null = null;
  /** Services whose tables a cutover or rollback of this process froze, since when (ms). */
  private readonly openWindows = new Map<string, number>();
  /** Copy rows/s as carve status computes it, when no copy runs in this process. */
  private copyRateFromStatus = 0;

  constructor(options: MigrationMetricsOptions) {
    this.now = options.now ?? Date.now;
    this.routing = options.routing;
    for (const spec of Object.values(METRICS)) this.register(spec);
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client's nodejs_active_*_total are gauges named like counters, which promtool's lint
      // rejects; the process's CPU, memory, heap and event loop stay.
      for (const metric of this.registry.getMetricsAsArray())
        if (metric.name.endsWith('_total') && !(metric instanceof Counter))
          this.registry.removeSingleMetric(metric.name);
    }

    this.gauge(METRICS.info).set({ migration: this.routing.names.migration, version: options.version }, 1);
    this.counter(METRICS.tablesTotal).inc(this.routing.routes.length);
    this.gauge(METRICS.tablesMigrated).set(0);
    this.gauge(METRICS.inconsistency).set(0);
    this.gauge(METRICS.conflictsPending).set(0);
    this.gauge(METRICS.progress).set(0);
    this.gauge(METRICS.eta).set(Number.NaN);
    this.gauge(METRICS.rate).set(0);
    this.gauge(METRICS.slotActive).set(0);
    this.gauge(METRICS.syncFailed).set(0);
    for (const kind of ERROR_KINDS) this.counter(METRICS.errors).inc({ kind }, 0);
    for (const route of this.routing.routes) {
      this.counter(METRICS.recordsMigrated).inc(this.tableLabels(route.id), 0);
    }
    for (const service of this.routing.services) {
      this.counter(METRICS.changesApplied).inc({ database: service.database }, 0);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (what GET /metrics returns). */
  async text(): Promise<string> {
    const age = this.gauge(METRICS.statusAge);
    if (this.lastSnapshotAt === null) age.set(Number.NaN);
    else age.set((this.now() - this.lastSnapshotAt) / 1000);
    this.gauge(METRICS.rate).set(this.currentRate());
    for (const [service, since] of this.openWindows)
      this.gauge(METRICS.cutoverWindow).set({ service }, (this.now() - since) / 1000);
    return this.registry.metrics();
  }

  /** Listen to every engine on the hub; returns the unsubscribe function. */
  attach(hub: EventHub<CarveEvents>): Unsubscribe {
    return hub.subscribe((envelope) => this.observe(envelope));
  }

  observe(envelope: HubEvent<CarveEvents>): void {
    this.live = true;
    switch (envelope.engine) {
      case 'copy':
        return this.onCopy(envelope.event);
      case 'sync':
        return this.onSync(envelope.event);
      case 'verify':
        return this.onVerify(envelope.event);
      case 'reverse':
        return this.onReverse(envelope.event);
      default:
        return;
    }
  }

  private onReverse(event: CarveEvents['reverse']): void {
    switch (event.type) {
      case 'reverse-lag':
        for (const s of event.streams)
          this.gauge(METRICS.reverseLagBytes).set({ service: s.service }, s.lagBytes);
        return;
      case 'reverse-applied':
        this.counter(METRICS.reverseChangesApplied).inc({ service: event.service }, event.changes);
        return;
      case 'reverse-reconnecting':
        return this.error('sync_reconnect');
      case 'reverse-stopped':
        if (event.reason === 'failed') this.error('sync_failed');
        return;
      default:
        return;
    }
  }

  private onCopy(event: CarveEvents['copy']): void {
    switch (event.type) {
      case 'chunk-done': {
        this.addRecords(event.routeId, (this.recorded.get(event.routeId) ?? 0) + event.rows);
        this.copyWindow.push({ at: this.now(), rows: event.rows });
        return;
      }
      case 'chunk-published':
        this.counter(METRICS.snapshotEvents).inc(this.tableLabels(event.routeId), event.events);
        return;
      case 'chunk-failed':
        return this.error('copy_chunk_failed');
      case 'copy-finished':
        if (event.complete) {
          this.gauge(METRICS.progress).set(1);
          this.gauge(METRICS.eta).set(0);
        }
        return;
      default:
        return;
    }
  }

  private onSync(event: CarveEvents['sync']): void {
    switch (event.type) {
      case 'stream-started':
        this.streaming = true;
        this.lastStreamEventAt = this.now();
        this.gauge(METRICS.slotActive).set(1);
        this.gauge(METRICS.syncFailed).set(0);
        return;
      case 'lag': {
        this.lastLagEventAt = this.now();
        this.lastStreamEventAt = this.lastLagEventAt;
        let rate = 0;
        for (const t of event.targets) {
          // Unknown (nothing read from the monolith yet) is NaN, not a made-up 0.
          this.gauge(METRICS.lagSeconds).set({ database: t.database }, t.lagSeconds ?? Number.NaN);
          this.gauge(METRICS.lagBytes).set({ database: t.database }, t.lagBytes);
          rate += t.changesPerSecond;
        }
        this.syncRate = rate;
        return;
      }
      case 'batch-applied':
        this.counter(METRICS.changesApplied).inc({ database: event.database }, event.changes);
        return;
      case 'reconnecting':
        return this.error('sync_reconnect');
      case 'hold-failed':
        return this.error('sync_hold_failed');
      case 'sync-stopped':
        this.streaming = false;
        this.lastStreamEventAt = this.now();
        this.syncRate = 0;
        this.gauge(METRICS.slotActive).set(0);
        if (event.reason === 'failed') {
          this.error('sync_failed');
          this.gauge(METRICS.syncFailed).set(1);
        }
        return;
      default:
        return;
    }
  }

  private onVerify(event: CarveEvents['verify']): void {
    switch (event.type) {
      case 'verify-started':
        this.verifyRun = { runId: event.runId, rows: 0, orphans: 0, sequences: 0 };
        return;
      case 'route-done':
        if (this.verifyRun)
          this.verifyRun.rows += event.result.missing + event.result.extra + event.result.different;
        return;
      case 'foreign-key-done':
        if (this.verifyRun && event.result.status === 'orphans')
          this.verifyRun.orphans +=
            event.result.orphans.filter((o) => !o.preexisting).length + event.result.truncated;
        return;
      case 'sequences-done':
        if (this.verifyRun)
          this.verifyRun.sequences += event.results.filter((r) => r.status === 'behind' && r.failing).length;
        return;
      case 'verify-finished': {
        const run = this.verifyRun;
        if (!run) return;
        const found = run.rows + run.orphans + run.sequences;
        // A failed verify always counts as an inconsistency, even one not counted in rows.
        const value = event.ok ? found : Math.max(1, found);
        this.liveInconsistency = { runId: run.runId, value };
        this.gauge(METRICS.inconsistency).set(value);
        return;
      }
      default:
        return;
    }
  }

  /**
   * A cutover or rollback of this process froze the service's tables: until recordServiceAction,
   * migration_cutover_window_seconds{service} grows with the time since, so a scrape during a long
   * cutover sees how long writes have been refused.
   */
  openServiceWindow(service: string): void {
    if (!this.openWindows.has(service)) this.openWindows.set(service, this.now());
  }

  /** A cutover or rollback finished in this process: its window, its outcome, an error when it failed. */
  recordServiceAction(record: ServiceActionRecord): void {
    const { action, service, outcome } = record;
    this.counter(METRICS.serviceActions).inc({ service, action, outcome });
    if (outcome === 'failed') this.error(action === 'cutover' ? 'cutover_failed' : 'rollback_failed');
    const opened = this.openWindows.get(service);
    this.openWindows.delete(service);
    // The engine's own measure (freeze → switch) wins; else the time this process saw the freeze held.
    const window = record.windowSeconds ?? (opened === undefined ? null : (this.now() - opened) / 1000);
    if (window !== null) this.gauge(METRICS.cutoverWindow).set({ service }, window);
  }

  /** Values as the databases record them (see status-snapshot.ts). */
  applySnapshot(snapshot: StatusSnapshot): void {
    const { status } = snapshot;
    this.lastSnapshotAt = snapshot.at;
    // A phase this version does not list yet still shows (as 1) rather than disappearing.
    for (const phase of new Set<string>([...MIGRATION_PHASES, status.phase]))
      this.gauge(METRICS.phase).set({ phase }, status.phase === phase ? 1 : 0);
    for (const row of snapshot.services) {
      for (const phase of new Set<string>([...SERVICE_PHASES, row.phase]))
        this.gauge(METRICS.servicePhase).set({ service: row.service, phase }, row.phase === phase ? 1 : 0);
    }

    const copy = status.copy;
    if (copy) {
      for (const route of copy.routes) this.addRecords(route.routeId, route.rowsCopied);
      const migrated = copy.finished
        ? copy.routes.length
        : copy.routes.filter((r) => r.chunks > 0 && r.chunksDone === r.chunks).length;
      this.gauge(METRICS.tablesMigrated).set(migrated);
      this.gauge(METRICS.progress).set(
        copy.finished ? 1 : copy.estimatedRows > 0 ? Math.min(1, copy.rowsCopied / copy.estimatedRows) : 0,
      );
      this.gauge(METRICS.eta).set(copy.etaSeconds ?? Number.NaN);
      if (!this.live && !copy.finished) this.copyRateFromStatus = copy.rowsPerSecond;
      else this.copyRateFromStatus = 0;
      if (!this.live) {
        for (const f of copy.failures) {
          const key = `${f.routeId}#${f.chunkNo}`;
          if (this.seenFailures.has(key)) continue;
          this.seenFailures.add(key);
          this.error('copy_chunk_failed');
        }
      }
    }

    const sync = status.sync;
    if (sync) {
      const fresh = this.now() - this.lastLagEventAt < LIVE_MS;
      if (!fresh) {
        for (const t of sync.targets) {
          if (t.lagSeconds !== null)
            // Unknown (nothing read from the monolith yet) is NaN, not a made-up 0.
            this.gauge(METRICS.lagSeconds).set({ database: t.database }, t.lagSeconds ?? Number.NaN);
          if (t.lagBytes !== null) this.gauge(METRICS.lagBytes).set({ database: t.database }, t.lagBytes);
        }
      }
      const failed = sync.lastError !== null && !sync.running;
      if (!this.live && sync.lastError && sync.lastError.at !== this.lastSyncErrorAt) {
        this.lastSyncErrorAt = sync.lastError.at;
        this.error('sync_failed');
      }
      if (!this.streaming) this.gauge(METRICS.syncFailed).set(failed ? 1 : 0);
      for (const t of sync.targets)
        this.gauge(METRICS.targetBehindSlot).set(
          { database: t.database },
          t.behindSlot && !t.applyingFromKafka ? 1 : 0,
        );
    }

    // The slot exists from the copy's start on; status reads it whenever the targets record a copy.
    const slot = status.slot;
    if (slot) {
      this.gauge(METRICS.slotRetainedWal).set(slot.exists ? (slot.retainedWalBytes ?? 0) : 0);
      if (this.now() - this.lastStreamEventAt >= LIVE_MS || !this.streaming)
        this.gauge(METRICS.slotActive).set(slot.active || this.streaming ? 1 : 0);
    }

    const verify = status.verify;
    if (verify && verify.finishedAt) {
      if (this.liveInconsistency?.runId === verify.runId) {
        this.gauge(METRICS.inconsistency).set(this.liveInconsistency.value);
      } else if (verify.ok === false) {
        // Another process verified: the databases record which key ranges differed, not each row.
        const rows = snapshot.verifyDifferences.reduce(
          (sum, d) => sum + Math.max(1, Math.abs((d.sourceRows ?? 0) - (d.targetRows ?? 0))),
          0,
        );
        this.gauge(METRICS.inconsistency).set(Math.max(1, rows));
      } else if (verify.ok === true) {
        this.gauge(METRICS.inconsistency).set(0);
      }
    }
    this.gauge(METRICS.conflictsPending).set(snapshot.conflictsPending);
  }

  private currentRate(): number {
    const cutoff = this.now() - RATE_WINDOW_MS;
    while (this.copyWindow.length && this.copyWindow[0]!.at < cutoff) this.copyWindow.shift();
    const copied = this.copyWindow.reduce((sum, c) => sum + c.rows, 0);
    const first = this.copyWindow[0];
    const seconds = first ? Math.max(1, (this.now() - first.at) / 1000) : 1;
    const copyRate = this.copyWindow.length ? copied / seconds : this.copyRateFromStatus;
    const syncRate = this.now() - this.lastLagEventAt < LIVE_MS ? this.syncRate : 0;
    return copyRate + syncRate;
  }

  /** Raise a route's records counter to `total` (never lowers it). */
  private addRecords(routeId: string, total: number): void {
    const before = this.recorded.get(routeId) ?? 0;
    if (total <= before) return;
    this.recorded.set(routeId, total);
    this.counter(METRICS.recordsMigrated).inc(this.tableLabels(routeId), total - before);
  }

  private tableLabels(routeId: string): { database: string; table: string } {
    const route = this.routing.routes.find((r) => r.id === routeId);
    if (!route) {
      const slash = routeId.indexOf('/');
      return { database: routeId.slice(0, slash), table: routeId.slice(slash + 1) };
    }
    return { database: route.database, table: `${route.target.schema}.${route.target.name}` };
  }

  private error(kind: ErrorKind): void {
    this.counter(METRICS.errors).inc({ kind });
  }

  private register(spec: MetricSpec): void {
    const config = {
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [this.registry],
    };
    if (spec.type === 'gauge') this.gauges.set(spec.name, new Gauge(config));
    else this.counters.set(spec.name, new Counter(config));
  }

  private gauge(spec: MetricSpec): Gauge<string> {
    return this.gauges.get(spec.name)!;
  }

  private counter(spec: MetricSpec): Counter<string> {
    return this.counters.get(spec.name)!;
  }
}
