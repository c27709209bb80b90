import { stringify } from 'yaml';

export interface DashboardPanelSpec {
  title: string;
  type: 'stat' | 'timeseries' | 'table';
  unit: string;
  /** PromQL, one per target (legend in `legend`). */
  queries: { expr: string; legend?: string }[];
  width: number;
  height: number;
}

/**
 * The Grafana panels: the CareSync plan's dashboard (tables migrated, records migrated, progress,
 * time remaining, errors, rate, memory and CPU) plus lag, the slot, verify, conflicts and each
 * service's phase. Every query names only metrics carve exports (a test holds it to that).
 */
export function dashboardPanels(): DashboardPanelSpec[] {
  const stat = (title: string, unit: string, expr: string, legend?: string): DashboardPanelSpec => ({
    title,
    type: 'stat',
    unit,
    queries: [{ expr, legend }],
    width: 4,
    height: 4,
  });
  const series = (
    title: string,
    unit: string,
    queries: DashboardPanelSpec['queries'],
  ): DashboardPanelSpec => ({
    title,
    type: 'timeseries',
    unit,
    queries,
    width: 12,
    height: 8,
  });
  return [
    stat('Progress', 'percentunit', 'migration_progress_ratio'),
    stat('Time remaining (copy)', 's', 'migration_eta_seconds'),
    {
      title: 'Tables migrated',
      type: 'stat',
      unit: 'none',
      queries: [
        { expr: 'migration_tables_migrated', legend: 'migrated' },
        { expr: 'migration_tables_total', legend: 'total' },
      ],
      width: 4,
      height: 4,
    },
    stat('Records migrated', 'short', 'sum(migration_records_migrated_total)'),
    stat('Errors', 'none', 'sum(migration_errors_total)'),
    stat('Inconsistent rows (last verify)', 'none', 'data_inconsistency_detected'),
    series('Lag per database (seconds)', 's', [{ expr: 'migration_lag_seconds', legend: '{{database}}' }]),
    series('Lag per database (WAL bytes)', 'bytes', [
      { expr: 'migration_lag_bytes', legend: '{{database}}' },
    ]),
    series('Rate (records/s)', 'short', [
      { expr: 'migration_rate_records_per_second', legend: 'copy + sync' },
      {
        expr: 'sum by (database) (rate(migration_changes_applied_total[1m]))',
        legend: 'changes {{database}}',
      },
    ]),
    series('Rows copied per table (rows/s)', 'short', [
      {
        expr: 'sum by (database, table) (rate(migration_records_migrated_total[1m]))',
        legend: '{{database}} {{table}}',
      },
    ]),
    series('Replication slot', 'bytes', [
      { expr: 'migration_slot_retained_wal_bytes', legend: 'retained WAL' },
    ]),
    series('Errors by kind (5m)', 'none', [
      { expr: 'sum by (kind) (increase(migration_errors_total[5m]))', legend: '{{kind}}' },
    ]),
    {
      title: 'Service phases',
      type: 'table',
      unit: 'none',
      queries: [{ expr: 'max by (service, phase) (migration_service_phase) == 1', legend: '{{service}}' }],
      width: 8,
      height: 8,
    },
    stat('Slot active', 'none', 'migration_slot_active'),
    stat('Conflicts pending', 'none', 'migration_conflicts_pending'),
    stat(
      'Cutover window (writes unavailable)',
      's',
      'max by (service) (migration_cutover_window_seconds)',
      '{{service}}',
    ),
    series('CPU (cores) and memory', 'bytes', [
      { expr: 'process_resident_memory_bytes', legend: 'resident memory' },
      { expr: 'rate(process_cpu_seconds_total[1m])', legend: 'CPU cores' },
    ]),
  ];
}

/** The dashboard as Grafana's JSON model (importable, or provisioned from a file). */
export function grafanaDashboard(migration: string): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  const panels = dashboardPanels().map((spec, index) => {
    if (x + spec.width > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w: spec.width, h: spec.height };
    x += spec.width;
    rowHeight = Math.max(rowHeight, spec.height);
    return {
      id: index + 1,
      type: spec.type,
      title: spec.title,
      datasource,
      gridPos,
      fieldConfig: {
        defaults: { unit: spec.unit },
        overrides: spec.title.startsWith('CPU')
          ? [{ matcher: { id: 'byName', options: 'CPU cores' }, properties: [{ id: 'unit', value: 'none' }] }]
          : [],
      },
      options: spec.type === 'table' ? { showHeader: true } : {},
      targets: spec.queries.map((q, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource,
        expr: q.expr,
        legendFormat: q.legend ?? '__auto',
        ...(spec.type === 'table' ? { format: 'table', instant: true } : {}),
      })),
    };
  });
  return {
    uid: `carve-${migration}`.slice(0, 40).replace(/[^A-Za-z0-9_-]/g, '-'),
    title: `carve migration ${migration}`,
    tags: ['carve', 'migration'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {} },
      ],
    },
    panels,
  };
}

/** Grafana's dashboard provisioning file, pointing at the directory the JSON is copied to. */
export function grafanaProvisioning(migration: string, dashboardsPath: string): string {
  return (
    `# Grafana provisioning (generated by carve alerts): put this file in provisioning/dashboards/\n` +
    `# and the dashboard JSON in ${dashboardsPath}.\n` +
    stringify({
      apiVersion: 1,
      providers: [
        {
          name: `carve-${migration}`,
          folder: 'carve',
          type: 'file',
          disableDeletion: false,
          updateIntervalSeconds: 30,
          allowUiUpdates: true,
          options: { path: dashboardsPath, foldersFromFilesStructure: false },
        },
      ],
    })
  );
}
