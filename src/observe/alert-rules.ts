import { stringify } from 'yaml';
import { UNFINISHED_SERVICE_PHASES } from './metric-catalogue.js';

/** One Prometheus alerting rule. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

export interface AlertSettings {
  /** Migration name, in the group's name. */
  migration: string;
  /** migration_slot_retained_wal_bytes above this fires MigrationSlotRetainedWal (default 10 GiB). */
  retainedWalBytes?: number;
}

export const DEFAULT_RETAINED_WAL_BYTES = 10 * 1024 ** 3;

/** Phases after the copy, where the slot must be read or the monolith keeps WAL for it. */
const STREAMING_PHASES = 'copied|streaming|verified|verify-failed';

/**
 * The alerting rules of a migration: the CareSync plan's three (MigrationLag over 300 s for 5m,
 * MigrationErrors over 10 for 2m, DataInconsistency above 0 for 1m, with its severities and
 * summaries), and carve's own for the slot, the stream, conflicts and cutover.
 */
export function alertRules(settings: AlertSettings): AlertRule[] {
  const wal = settings.retainedWalBytes ?? DEFAULT_RETAINED_WAL_BYTES;
  return [
    {
      alert: 'MigrationLag',
      expr: 'migration_lag_seconds > 300',
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Migration lag exceeds 5 minutes',
        description:
          '{{ $labels.database }} has not applied a monolith commit older than 5 minutes. Check carve sync (carve status) and the service database.',
      },
    },
    {
      alert: 'MigrationErrors',
      expr: 'sum without (kind) (migration_errors_total) > 10',
      for: '2m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'High migration error rate detected',
        description:
          'carve counted more than 10 errors (copy chunks, reconnects, stops). Read carve status and the command output.',
      },
    },
    {
      alert: 'DataInconsistency',
      expr: 'data_inconsistency_detected > 0',
      for: '1m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Data inconsistency detected',
        description:
          'The last carve verify found rows that differ or new orphans. Do not cut over; run carve verify --plan <file> for the keys and the repair SQL.',
      },
    },
    {
      alert: 'MigrationSlotRetainedWal',
      expr: `migration_slot_retained_wal_bytes > ${wal}`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'The replication slot keeps too much WAL on the monolith',
        description: `The migration's slot keeps more than ${formatBytes(wal)} of WAL. Keep carve sync running, or drop the slot with carve teardown before the monolith's disk fills.`,
      },
    },
    {
      alert: 'MigrationSlotInactive',
      expr: `migration_slot_active == 0 and on (job, instance) migration_phase{phase=~"${STREAMING_PHASES}"} == 1`,
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Nothing reads the replication slot',
        description:
          'The copy has finished but no carve sync streams from the slot: the service databases fall behind and the monolith keeps WAL. Start carve sync --plan <file>.',
      },
    },
    {
      alert: 'MigrationSlotLost',
      expr: 'migration_phase{phase="slot-lost"} == 1',
      for: '1m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The replication slot is lost: streaming cannot resume',
        description:
          'The slot was dropped or lost WAL it needed (max_slot_wal_keep_size). carve status gives the recipe to start over.',
      },
    },
    {
      alert: 'MigrationSyncStopped',
      expr: 'migration_sync_failed == 1',
      for: '1m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'carve sync stopped on an error',
        description:
          'The last sync stopped on an error and none runs since. carve status shows the error and its hint; then start carve sync again.',
      },
    },
    {
      alert: 'MigrationTargetBehindSlot',
      expr: 'migration_target_behind_slot == 1',
      for: '1m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'A service database is behind the replication slot',
        description:
          'Its applied position is behind where the slot resumes (restored from an older backup, or carve apply stopped behind carve sync --sink kafka-only): carve sync, verify and cutover refuse it. carve status shows the databases and the way out.',
      },
    },
    {
      alert: 'MigrationConflictsPending',
      expr: 'migration_conflicts_pending > 0',
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Conflicts wait for a decision',
        description: 'Conflicting writes wait in the manual queue; resolve them on the carve dashboard.',
      },
    },
    {
      alert: 'MigrationCutoverStuck',
      expr: `max by (job, instance, service) (migration_service_phase{phase=~"${UNFINISHED_SERVICE_PHASES.join('|')}"}) == 1`,
      for: '15m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'A cutover or rollback does not finish',
        description:
          '{{ $labels.service }} has been cutting over or rolling back for 15 minutes: its tables may refuse writes. Check carve status and the cutover journal.',
      },
    },
  ];
}

/** carve-alerts.yml: a Prometheus rule file with one group. */
export function renderAlertRules(settings: AlertSettings): string {
  return (
    `# Alerting rules for the carve migration ${settings.migration} (generated by carve alerts).\n` +
    `# Load with rule_files: [carve-alerts.yml]; metric names: docs/metrics.md.\n` +
    stringify(
      { groups: [{ name: ruleGroupName(settings.migration), rules: alertRules(settings) }] },
      { lineWidth: 0 },
    )
  );
}

export function ruleGroupName(migration: string): string {
  return `carve_${migration.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function formatBytes(n: number): string {
  const gib = n / 1024 ** 3;
  return gib >= 1 ? `${Number(gib.toFixed(1))} GiB` : `${Math.round(n / 1024 ** 2)} MiB`;
}
