/**
 * Every metric carve exports, with its type, help text and labels: the one list that the registry,
 * the alert rules, the Grafana dashboard and docs/metrics.md agree on (a unit test holds them to it).
 * Names and label sets are stable: dashboards and alerts outside carve query them.
 */

export type MetricType = 'gauge' | 'counter';

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
}

/** The `kind` label values of migration_errors_total (each series exists from the start, at 0). */
export const ERROR_KINDS = [
  /** A copy chunk failed (retried or left for --resume). */
  'copy_chunk_failed',
  /** The stream broke and sync reconnects (transient). */
  'sync_reconnect',
  /** sync stopped on an error. */
  'sync_failed',
  /** A target could not stop at a requested hold (verify). */
  'sync_hold_failed',
  /** A cutover stopped on an error (before its point of no return the freeze was undone). */
  'cutover_failed',
  /** A rollback stopped on an error. */
  'rollback_failed',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The `phase` label values of migration_phase: the migration's phases as `carve status` names them. */
export const MIGRATION_PHASES = [
  'not-provisioned',
  'provisioned',
  'copying',
  'copy-failed',
  'copied',
  'streaming',
  'verified',
  'verify-failed',
  'slot-lost',
  'torn-down',
] as const;

/**
 * The cutover engine's service phases (src/cutover/status.ts, docs/cutover.md) other than
 * `streaming`, which is also a migration phase. src/cli/service-phases.ts holds the two lists to
 * each other at compile time.
 */
export const CUTOVER_PHASES = ['cutting-over', 'cut-over', 'rolling-back', 'completed'] as const;

/** The cutover phases in which a service's tables are frozen until a command finishes (cutover stuck). */
export const UNFINISHED_SERVICE_PHASES = [
  'cutting-over',
  'rolling-back',
] as const satisfies readonly (typeof CUTOVER_PHASES)[number][];

/**
 * The `phase` label values of migration_service_phase: where a service stands. The migration's
 * phases (as `carve status` names them) while the monolith serves the service, then the cutover's.
 */
export const SERVICE_PHASES = [...MIGRATION_PHASES, ...CUTOVER_PHASES] as const;
export type ServicePhaseLabel = (typeof SERVICE_PHASES)[number];

const gauge = (name: string, help: string, labels: readonly string[] = []): MetricSpec => ({
  name,
  type: 'gauge',
  help,
  labels,
});
const counter = (name: string, help: string, labels: readonly string[] = []): MetricSpec => ({
  name,
  type: 'counter',
  help,
  labels,
});

export const METRICS = {
  info: gauge('migration_info', 'Always 1; the migration this process works on, and the carve version.', [
    'migration',
    'version',
  ]),
  phase: gauge('migration_phase', '1 for the phase the migration is in (as carve status names it), else 0.', [
    'phase',
  ]),
  lagSeconds: gauge(
    'migration_lag_seconds',
    'Age of the oldest monolith commit a service database has not applied yet (0 when caught up).',
    ['database'],
  ),
  lagBytes: gauge(
    'migration_lag_bytes',
    'Monolith WAL position minus the position a service database has durably applied, in bytes.',
    ['database'],
  ),
  errors: counter('migration_errors_total', 'Errors seen by this process, by kind.', ['kind']),
  inconsistency: gauge(
    'data_inconsistency_detected',
    'Mismatched rows plus new orphans found by the last verify (0 when it matched).',
  ),
  // A counter by type, constant in value: the plan's name ends in _total, which promtool's lint
  // allows for counters only.
  tablesTotal: counter(
    'migration_tables_total',
    'Tables to migrate: every table placed in a service database (owned tables and projections).',
  ),
  tablesMigrated: gauge('migration_tables_migrated', 'Tables whose copy has finished.'),
  recordsMigrated: counter(
    'migration_records_migrated_total',
    'Rows copied into a service database table (as recorded in the copy log).',
    ['database', 'table'],
  ),
  snapshotEvents: counter(
    'migration_snapshot_events_total',
    'Snapshot reads (op r) of copied rows published to Kafka by this process (plan events.snapshot), by owner table.',
    ['database', 'table'],
  ),
  changesApplied: counter(
    'migration_changes_applied_total',
    'Streamed changes (inserts, updates, deletes) applied to a service database by this process.',
    ['database'],
  ),
  reverseLagBytes: gauge(
    'migration_reverse_lag_bytes',
    "A cut-over service database's WAL position minus the position the monolith has durably applied from it (reverse stream), in bytes.",
    ['service'],
  ),
  reverseChangesApplied: counter(
    'migration_reverse_changes_applied_total',
    "Changes of a cut-over service's database applied back into the monolith by this process (reverse stream).",
    ['service'],
  ),
  progress: gauge('migration_progress_ratio', 'Copy progress, 0 to 1 (rows copied / rows estimated).'),
  eta: gauge(
    'migration_eta_seconds',
    'Estimated seconds until the copy finishes (0 when finished, NaN while unknown).',
  ),
  rate: gauge(
    'migration_rate_records_per_second',
    'Rows copied plus changes applied per second, over the last minute of copy and the last second of sync.',
  ),
  slotRetainedWal: gauge(
    'migration_slot_retained_wal_bytes',
    'WAL the replication slot keeps on the monolith, in bytes.',
  ),
  slotActive: gauge('migration_slot_active', '1 while a process streams from the replication slot, else 0.'),
  syncFailed: gauge(
    'migration_sync_failed',
    '1 when the last sync stopped on an error and none streams since, else 0.',
  ),
  targetBehindSlot: gauge(
    'migration_target_behind_slot',
    "1 when the service database's applied position is behind the replication slot's and no carve apply brings it level (carve status alert TARGET_BEHIND_SLOT), else 0.",
    ['database'],
  ),
  conflictsPending: gauge(
    'migration_conflicts_pending',
    'Conflicts waiting in the manual queue (0 until carve has a conflicts queue).',
  ),
  servicePhase: gauge('migration_service_phase', '1 for the phase each service is in, else 0.', [
    'service',
    'phase',
  ]),
  cutoverWindow: gauge(
    'migration_cutover_window_seconds',
    "Writes unavailable during a service's last cutover (freeze → switch) or rollback run by this process, seconds.",
    ['service'],
  ),
  serviceActions: counter(
    'migration_service_actions_total',
    'Cutovers and rollbacks run by this process, by service, action (cutover, rollback) and outcome (ok, failed).',
    ['service', 'action', 'outcome'],
  ),
  statusAge: gauge(
    'migration_status_age_seconds',
    'Seconds since the databases were last read for these values (polled state).',
  ),
} as const satisfies Record<string, MetricSpec>;

/** Process metrics prom-client exports beside carve's (CPU, memory, event loop). */
export const PROCESS_METRICS = [
  'process_cpu_seconds_total',
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_start_time_seconds',
  'process_open_fds',
  'process_max_fds',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_eventloop_lag_seconds',
] as const;

/** Every metric name a query may use (histogram and counter suffixes aside). */
export function exportedMetricNames(): Set<string> {
  return new Set([...Object.values(METRICS).map((m) => m.name), ...PROCESS_METRICS]);
}
