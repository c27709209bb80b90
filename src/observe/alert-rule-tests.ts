import { stringify } from 'yaml';
import { alertRules, DEFAULT_RETAINED_WAL_BYTES, type AlertRule, type AlertSettings } from './alert-rules.js';

export interface AlertTestSettings extends AlertSettings {
  /** A service database and a service of the plan, used as label values of the synthetic series. */
  database: string;
  service: string;
  /** The rule file's name, as the test file refers to it. */
  ruleFile: string;
}

interface Case {
  alert: string;
  series: { labels: Record<string, string>; values: string }[];
  /** Still pending (or quiet) here … */
  quietAt: string;
  /** … and firing here, with these labels besides the rule's. */
  firingAt: string;
  firingLabels: Record<string, string>;
}

const TARGET = { job: 'carve', instance: 'localhost:9187' };

/**
 * carve-alerts.test.yml for `promtool test rules`: every rule fires on synthetic series that cross
 * its threshold, and only after its `for:` duration (each case also checks a moment before).
 */
export function renderAlertTests(settings: AlertTestSettings): string {
  const wal = settings.retainedWalBytes ?? DEFAULT_RETAINED_WAL_BYTES;
  const db = settings.database;
  const cases: Case[] = [
    {
      alert: 'MigrationLag',
      series: [
        { labels: { __name__: 'migration_lag_seconds', database: db, ...TARGET }, values: '0 400x10' },
        {
          labels: { __name__: 'migration_lag_seconds', database: `${db}_quiet`, ...TARGET },
          values: '0 100x10',
        },
      ],
      quietAt: '4m',
      firingAt: '7m',
      firingLabels: { database: db, ...TARGET },
    },
    {
      alert: 'MigrationErrors',
      series: [
        {
          labels: { __name__: 'migration_errors_total', kind: 'copy_chunk_failed', ...TARGET },
          values: '0 4 8x10',
        },
        {
          labels: { __name__: 'migration_errors_total', kind: 'sync_reconnect', ...TARGET },
          values: '0 0 3x10',
        },
      ],
      quietAt: '3m',
      firingAt: '5m',
      firingLabels: { ...TARGET },
    },
    {
      alert: 'DataInconsistency',
      series: [{ labels: { __name__: 'data_inconsistency_detected', ...TARGET }, values: '0 0 3x10' }],
      quietAt: '2m',
      firingAt: '4m',
      firingLabels: { ...TARGET },
    },
    {
      alert: 'MigrationSlotRetainedWal',
      series: [
        { labels: { __name__: 'migration_slot_retained_wal_bytes', ...TARGET }, values: `0 ${wal + 1}x15` },
      ],
      quietAt: '9m',
      firingAt: '12m',
      firingLabels: { ...TARGET },
    },
    {
      alert: 'MigrationSlotInactive',
      series: [
        { labels: { __name__: 'migration_slot_active', ...TARGET }, values: '1 0x20' },
        { labels: { __name__: 'migration_phase', phase: 'streaming', ...TARGET }, values: '1x20' },
        { labels: { __name__: 'migration_phase', phase: 'copying', ...TARGET }, values: '0x20' },
      ],
      quietAt: '10m',
      firingAt: '17m',
      firingLabels: { ...TARGET },
    },
    {
      alert: 'MigrationSlotLost',
      series: [
        { labels: { __name__: 'migration_phase', phase: 'slot-lost', ...TARGET }, values: '0 0 1x10' },
        { labels: { __name__: 'migration_phase', phase: 'streaming', ...TARGET }, values: '1 1 0x10' },
      ],
      quietAt: '2m',
      firingAt: '4m',
      firingLabels: { phase: 'slot-lost', ...TARGET },
    },
    {
      alert: 'MigrationSyncStopped',
      series: [{ labels: { __name__: 'migration_sync_failed', ...TARGET }, values: '0 0 1x10' }],
      quietAt: '2m',
      firingAt: '4m',
      firingLabels: { ...TARGET },
    },
    {
      alert: 'MigrationTargetBehindSlot',
      series: [
        { labels: { __name__: 'migration_target_behind_slot', database: db, ...TARGET }, values: '0 0 1x10' },
      ],
      quietAt: '2m',
      firingAt: '4m',
      firingLabels: { database: db, ...TARGET },
    },
    {
      alert: 'MigrationConflictsPending',
      series: [{ labels: { __name__: 'migration_conflicts_pending', ...TARGET }, values: '0 2x15' }],
      quietAt: '9m',
      firingAt: '12m',
      firingLabels: { ...TARGET },
    },
    {
      alert: 'MigrationCutoverStuck',
      series: [
        {
          labels: {
            __name__: 'migration_service_phase',
            service: settings.service,
            phase: 'cutting-over',
            ...TARGET,
          },
          values: '1x20',
        },
        {
          labels: {
            __name__: 'migration_service_phase',
            service: settings.service,
            phase: 'streaming',
            ...TARGET,
          },
          values: '0x20',
        },
        // A service that finished its cutover long ago is not stuck.
        {
          labels: {
            __name__: 'migration_service_phase',
            service: `${settings.service}-done`,
            phase: 'cut-over',
            ...TARGET,
          },
          values: '1x20',
        },
      ],
      quietAt: '10m',
      firingAt: '16m',
      firingLabels: { service: settings.service, ...TARGET },
    },
  ];
  const rules = new Map(alertRules(settings).map((r) => [r.alert, r]));
  const tests = cases.map((c) => {
    const rule = rules.get(c.alert)!;
    return {
      name: `${c.alert} fires after ${rule.for}`,
      interval: '1m',
      input_series: c.series.map((s) => ({ series: seriesText(s.labels), values: s.values })),
      alert_rule_test: [
        { eval_time: c.quietAt, alertname: c.alert, exp_alerts: [] },
        {
          eval_time: c.firingAt,
          alertname: c.alert,
          exp_alerts: [
            {
              exp_labels: { ...c.firingLabels, ...rule.labels },
              exp_annotations: expandAnnotations(rule, c.firingLabels),
            },
          ],
        },
      ],
    };
  });
  return (
    `# promtool test rules ${settings.ruleFile.replace(/\.yml$/, '.test.yml')} (generated by carve alerts)\n` +
    stringify({ rule_files: [settings.ruleFile], evaluation_interval: '1m', tests }, { lineWidth: 0 })
  );
}

function seriesText(labels: Record<string, string>): string {
  const { __name__: name, ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${pairs.join(', ')}}`;
}

/** Annotations as Prometheus expands them for an alert with these labels (only $labels is used). */
function expandAnnotations(rule: AlertRule, labels: Record<string, string>): AlertRule['annotations'] {
  const expand = (text: string) =>
    text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, name: string) => labels[name] ?? '');
  return { summary: expand(rule.annotations.summary), description: expand(rule.annotations.description) };
}
