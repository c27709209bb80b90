import { analyticsRange, epochSeconds as epoch } from '../date-range.js';
import { textArray, type TableSeed } from './table-seed.js';

const DAY = 86_400;
const METRICS = [
  'bed_occupancy',
  'er_wait_minutes',
  'admissions',
  'discharges',
  'lab_turnaround_hours',
  'readmission_rate',
  'revenue',
  'no_show_rate',
];

/** [analytics] and the excluded login_attempts. */
export function analyticsSeeds(): TableSeed[] {
  const range = analyticsRange();
  const a0 = epoch(range.from);
  const aSpan = epoch(range.to) - a0;
  return [
    {
      table: 'analytics_data',
      derive: [
        {
          old: `sd.chance('analytics.old', n, 0.005)`,
          hosp: `sd.pick('analytics.hospital', n, sd.n('hospitals'))`,
        },
      ],
      columns: {
        id: 'n',
        // 0.5% predate the monthly partitions and land in the DEFAULT one.
        recorded_at: `sd.ts(CASE WHEN old THEN ${a0} - sd.between('analytics.age', n, 1, 365 * ${DAY})
                                 ELSE ${a0} + floor((n - 1 + sd.u('analytics.at', n)) * ${aSpan} / sd.n('analytics_data'))::bigint END)`,
        hospital_id: 'hosp',
        department_id: `CASE WHEN sd.chance('analytics.department?', n, 0.6) THEN (hosp - 1) * 15 + sd.pick('analytics.department', n, 15) END`,
        metric: `sd.choose('analytics.metric', n, ${textArray(METRICS)})`,
        value: `round((sd.u('analytics.value', n) * 1000)::numeric, 2)::float8`,
        dimensions: `jsonb_build_object('shift', sd.choose('analytics.shift', n, ${textArray(['day', 'evening', 'night'])}),
                                        'source', sd.choose('analytics.source', n, ${textArray(['ehr', 'billing', 'lab', 'scheduling'])}), 'version', 2)`,
      },
    },
    {
      table: 'reports',
      derive: [{ made: `sd.at('report.at', n)`, done: `sd.chance('report.done', n, 0.9)` }],
      columns: {
        id: 'n',
        title: `sd.choose('report.title', n, ${textArray(['Monthly census', 'Revenue by department', 'Readmission rates', 'ED throughput', 'Lab turnaround', 'Payer mix', 'Length of stay', 'Staff utilization'])}) || ' #' || n::text`,
        report_type: `sd.choose('report.type', n, ${textArray(['census', 'financial', 'quality', 'utilization', 'custom'])})`,
        created_by: `sd.uid('profile', sd.pick('report.by', n, sd.n('hospital_staff')))`,
        parameters: `jsonb_build_object('hospital_id', sd.pick('report.hospital', n, sd.n('hospitals')), 'from', sd.day(made - 30 * ${DAY})::text,
                                        'group_by', sd.choose('report.group', n, ${textArray(['department', 'payer', 'week', 'physician'])}))`,
        row_count: `CASE WHEN done THEN (sd.h('report.rows', n) % 100000)::int END`,
        generated_at: `CASE WHEN done THEN sd.ts(made + 60) END`,
        updated_at: 'sd.ts(made + 120)',
      },
    },
    {
      table: 'dashboards',
      columns: {
        id: 'n',
        owner_id: `sd.uid('profile', sd.pick('dashboard.owner', n, sd.n('hospital_staff')))`,
        name: `sd.choose('dashboard.name', n, ${textArray(['ED throughput', 'Bed occupancy', 'Revenue cycle', 'Lab turnaround', 'Readmissions', 'No-show tracker', 'Pharmacy stock', 'Quality measures'])}) || ' #' || n::text`,
        layout: `jsonb_build_object('columns', 12, 'theme', sd.choose('dashboard.theme', n, ${textArray(['light', 'dark'])}), 'widgets', jsonb_build_array(
                   jsonb_build_object('type', sd.choose('dashboard.w1', n, ${textArray(['line', 'bar', 'table', 'kpi', 'heatmap'])}),
                                      'metric', sd.choose('dashboard.m1', n, ${textArray(METRICS)}), 'x', 0, 'y', 0, 'w', 6, 'h', 4),
                   jsonb_build_object('type', sd.choose('dashboard.w2', n, ${textArray(['line', 'bar', 'table', 'kpi', 'heatmap'])}),
                                      'metric', sd.choose('dashboard.m2', n, ${textArray(METRICS)}), 'x', 6, 'y', 0, 'w', 6, 'h', 4)))`,
        is_shared: `sd.chance('dashboard.shared', n, 0.4)`,
        updated_at: `sd.ts(sd.at('dashboard.updated', n))`,
      },
    },
    {
      table: 'metrics_cache',
      derive: [
        {
          m: `sd.choose('cache.metric', n, ${textArray(METRICS)})`,
          hosp: `CASE WHEN sd.chance('cache.hospital?', n, 0.9) THEN sd.pick('cache.hospital', n, sd.n('hospitals')) END`,
          st: `sd.spread_at('cache.at', n, sd.n('metrics_cache'))`,
        },
      ],
      columns: {
        cache_key: `m || ':' || coalesce(hosp::text, 'all') || ':' || lpad(n::text, 8, '0')`,
        metric: 'm',
        hospital_id: 'hosp',
        value: `jsonb_build_object('value', round((sd.u('cache.value', n) * 1000)::numeric, 2), 'samples', sd.h('cache.samples', n) % 5000)`,
        computed_at: 'sd.ts(st)',
        expires_at: 'sd.ts(st + 3600)',
      },
    },
    {
      table: 'login_attempts',
      derive: [
        {
          prof: `CASE WHEN sd.chance('login.known', n, 0.85) THEN sd.pick('login.profile', n, sd.n('profiles')) END`,
          ok: `sd.chance('login.ok', n, 0.8)`,
        },
      ],
      columns: {
        profile_id: `CASE WHEN prof IS NOT NULL THEN sd.uid('profile', prof) END`,
        email: `CASE WHEN prof IS NULL THEN 'unknown' || (sd.h('login.unknown', n) % 100000)::text || '@example.net'
                     ELSE 'user' || prof::text || '@example.org' END`,
        attempted_at: `sd.ts(sd.spread_at('login.at', n, sd.n('login_attempts')))`,
        ip_address: `('192.0.2.' || (sd.h('login.ip', n) % 256)::text)::inet`,
        succeeded: 'prof IS NOT NULL AND ok',
        failure_reason: `CASE WHEN prof IS NULL THEN 'unknown_user'
                              WHEN NOT ok THEN sd.choose('login.failure', n, ${textArray(['bad_password', 'bad_password', 'locked', 'mfa_failed', 'expired_password'])}) END`,
      },
    },
  ];
}
