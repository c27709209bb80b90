/**
 * carve as a library: the same engines the CLI runs, with their options, events and results.
 *
 *     import { prepareRouting, migrate, buildIndexesWithProvision } from 'carve';
 *     const prepared = await prepareRouting('plan.yaml');
 *     const report = await migrate({ prepared, buildIndexes: buildIndexesWithProvision });
 *
 * Engines never print and never exit: they report through `onEvent` and throw CarveError, whose
 * `code` (CarveErrorCode, listed in errorCatalogue with its exit category) is stable.
 */

// Plan: load and validate (every problem at once, PLAN_INVALID).
export { loadPlan, parsePlan, type LoadPlanOptions } from './plan/load.js';
export type { MigrationNames, Plan, PlanService, PlanTable, PlanProjection } from './plan/model.js';
export { PlanProblemCode, type PlanProblem, type PlanProblemCodeValue } from './plan/problems.js';

// Catalog and routing: read the monolith, place every table.
export type { Catalog, TableRef } from './catalog/model.js';
export { prepareRouting, readMonolith, type PreparedMigration } from './routing/prepare-routing.js';
export { buildRouting } from './routing/build-routing.js';
export type {
  CutForeignKey,
  KeptForeignKey,
  PlanWarning,
  Routing,
  ServiceRoute,
  TableRoute,
} from './routing/model.js';
export { summarizeRouting, type RoutingSummary } from './routing/summarize.js';

// Provision: databases, roles, schema, grants.
export { provision } from './provision/index.js';
export type {
  ProvisionConflict,
  ProvisionEvent,
  ProvisionResult,
  ProvisionOptions,
} from './provision/index.js';

// Copy: snapshot-consistent, resumable.
export { copy, type CopyOptions } from './copy/index.js';
export type { CopyEvent, CopyResult, FailedChunk, RouteCopyPlan, RouteCopySummary } from './copy/events.js';
export type { IndexBuilder } from './copy/post-load.js';
export { buildIndexesWithProvision } from './migrate/index-builder.js';

// Sync: stream changes into the service databases.
export { startSync, SyncEngine } from './sync/index.js';
export { resync, type ResyncEvent, type ResyncOptions, type ResyncResult } from './resync/index.js';
export type { BatchSettings, SyncOptions } from './sync/options.js';
export type { SyncErrorInfo, SyncEvent, SyncResult, TargetLag } from './sync/events.js';
export {
  dropReverse,
  prepareReverse,
  readReverseStatus,
  ReverseEngine,
  reverseStreamName,
  startReverseSync,
  waitReverseApplied,
  type PreparedReverse,
  type ReverseStatus,
} from './reverse/index.js';
export type { ReverseSyncOptions } from './reverse/options.js';
export type { ReverseEvent, ReverseLag, ReverseResult } from './reverse/events.js';

// Cutover, rollback, complete, cancel; service phases (docs/cutover.md).
export {
  cancel,
  complete,
  cutover,
  FROZEN_SQLSTATE,
  readServicePhases,
  rollback,
  servicePhaseAlerts,
  type CancelResult,
  type CompleteResult,
  type ServicePhase,
  type ServicePhaseStatus,
} from './cutover/index.js';
export type {
  CancelOptions,
  CompleteOptions,
  CutoverEvent,
  CutoverResult,
  CutoverStep,
  PlannedStep,
  RollbackResult,
  RollbackStep,
  CutoverOptions,
  RollbackOptions,
} from './cutover/index.js';

// Verify: rows, cut foreign keys, sequences, at one consistent point.
export { verify } from './verify/index.js';
export type * from './verify/events.js';
export type { HoldProvider, VerifyOptions } from './verify/options.js';

// Migrate (the whole job), status, teardown.
export { migrate, type MigrateOptions } from './migrate/index.js';
export type { MigrateEvent, MigrateReport, MigrateStep } from './migrate/events.js';
export { readMigrationStatus, type MigrationPhase, type MigrationStatus } from './migrate/status.js';
export { readTeardownPlan, teardown, type TeardownPlan, type TeardownResult } from './migrate/teardown.js';

// Emergency paths: a backup of the moving tables at an exact LSN; a service's rows back into the monolith.
export { backup, readLatestBackup, type BackupOptions } from './backup/index.js';
export type {
  BackupEvent,
  BackupManifest,
  BackupRecord,
  BackupResult,
  BackupTable,
} from './backup/events.js';
export { recover, type RecoverOptions } from './recover/index.js';
export type { RecoverEvent, RecoverResult, RecoverTableResult } from './recover/events.js';
export {
  reverseMapOf,
  reverseTableFor,
  toMonolithRow,
  type ReverseColumn,
  type ReverseMap,
  type ReverseTable,
} from './routing/reverse-map.js';

// Observe: metrics (prom-client, carve's own registry), alert files, the dashboard server.
export { EventHub, type HubEnvelope, type HubEvent, type Unsubscribe } from './event-hub.js';
export type { CarveEvents } from './migrate/events.js';
export { METRICS, ERROR_KINDS, SERVICE_PHASES, type MetricSpec } from './observe/metric-catalogue.js';
export { MigrationMetrics, type MigrationMetricsOptions } from './observe/migration-metrics.js';
export {
  startMetricsEndpoint,
  type MetricsEndpoint,
  type MetricsEndpointOptions,
} from './observe/metrics-endpoint.js';
export {
  readStatusSnapshot,
  phasesFromStatus,
  type ServicePhaseReader,
  type ServicePhaseRow,
  type StatusSnapshot,
  type VerifyDifference,
} from './observe/status-snapshot.js';
export { writeAlertFiles, ALERT_FILES, type AlertFileOptions } from './observe/alert-files.js';
export {
  startDashboardServer,
  type DashboardServer,
  type DashboardServerOptions,
} from './observe/serve/dashboard-server.js';
export type {
  ServiceActionName,
  ServiceActionProgress,
  ServiceActionResult,
  ServiceActions,
} from './observe/serve/service-actions.js';
export { resolveServeToken, SERVE_TOKEN_ENV, type ServeToken } from './observe/serve/serve-token.js';

// Errors: one class, one catalogue of codes.
export { CarveError, isCarveError, type CarveErrorOptions } from './errors.js';
export {
  errorCatalogue,
  exitCategoryOf,
  isCarveErrorCode,
  type CarveErrorCode,
  type ConnectionDetails,
  type ConnectionEndpoint,
  type ErrorDetails,
  type ExitCategory,
} from './error-catalogue.js';
export { ConnectionError } from './pg/connection-error.js';
export { ReplicationError } from './pg/replication/replication-error.js';
export type { MigrationCommand, MigrationLockHolder } from './state/migration-lock.js';

// The CareSync demo monolith: generate it, put a write load on it.
export { CARESYNC_TABLES, type CaresyncService, type CaresyncTable } from './demo/caresync-tables.js';
export {
  seedMonolith,
  type SeedEvent,
  type SeedOptions,
  type SeedReport,
} from './demo/seed/seed-monolith.js';
export {
  startLoad,
  type LoadHandle,
  type LoadOptions,
  type LoadReport,
  type LoadStats,
} from './demo/load/start-load.js';
export { ServiceRoutedTables, type TableDestination, type TableRouter } from './demo/load/routed-tables.js';

// Never print a password.
export { redactUrl } from './pg/redact.js';
