import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALERT_FILES, writeAlertFiles } from '../../src/observe/alert-files.js';
import { alertRules } from '../../src/observe/alert-rules.js';
import { exportedMetricNames } from '../../src/observe/metric-catalogue.js';
import { parsePlan } from '../../src/plan/load.js';
import { runCarve } from '../support/carve-cli.js';
import { promtool } from '../support/promtool.js';

/** `carve alerts`: rules that promtool accepts and whose tests pass; a dashboard of valid queries. */
const planText = readFileSync(new URL('../../plans/caresync.yaml', import.meta.url), 'utf8');
const plan = parsePlan(planText, {
  env: { MONOLITH_URL: 'postgres://u@h/db', TARGET_URL: 'postgres://u@h/t' },
});

/** Metric names a PromQL expression uses (identifiers that are not functions, keywords or labels). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const keywords = new Set([
    'sum',
    'max',
    'min',
    'avg',
    'by',
    'without',
    'on',
    'and',
    'or',
    'unless',
    'rate',
    'increase',
    'ignoring',
  ]);
  const grouped = new Set(
    [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) =>
      m[1]!.split(',').map((s) => s.trim()),
    ),
  );
  return [...withoutStrings.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((w) => !keywords.has(w) && !grouped.has(w));
}

describe('carve alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'carve-alerts-'));
  const files = writeAlertFiles(plan, dir);

  it('writes rules promtool accepts, with the plan’s three rules as the plan has them', () => {
    const check = promtool(['check', 'rules', join(dir, ALERT_FILES.rules)]);
    expect(check.code, check.output).toBe(0);
    const rules = parse(readFileSync(files[0]!, 'utf8')).groups[0].rules as Record<string, unknown>[];
    expect(rules.map((r) => r.alert)).toEqual([
      'MigrationLag',
      'MigrationErrors',
      'DataInconsistency',
      'MigrationSlotRetainedWal',
      'MigrationSlotInactive',
      'MigrationSlotLost',
      'MigrationSyncStopped',
      'MigrationTargetBehindSlot',
      'MigrationConflictsPending',
      'MigrationCutoverStuck',
    ]);
    expect(rules[0]).toMatchObject({
      expr: 'migration_lag_seconds > 300',
      for: '5m',
      labels: { severity: 'warning' },
    });
    expect(rules[1]).toMatchObject({ for: '2m', labels: { severity: 'critical' } });
    expect(rules[1]!.expr).toMatch(/migration_errors_total\) > 10$/);
    expect(rules[2]).toMatchObject({
      expr: 'data_inconsistency_detected > 0',
      for: '1m',
      labels: { severity: 'critical' },
    });
  });

  it('fires every rule on synthetic series, only after its for: duration (promtool test rules)', () => {
    const run = promtool(['test', 'rules', join(dir, ALERT_FILES.tests)]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
    const tests = parse(readFileSync(files[1]!, 'utf8')).tests as { name: string }[];
    expect(tests.map((t) => t.name.split(' ')[0])).toEqual(
      alertRules({ migration: plan.name }).map((r) => r.alert),
    );
  });

  it('a rule test fails when the rule does not fire (the tests are not vacuous)', () => {
    const rulesFile = join(dir, 'broken-alerts.yml');
    writeFileSync(
      rulesFile,
      readFileSync(files[0]!, 'utf8').replace('migration_lag_seconds > 300', 'migration_lag_seconds > 500'),
    );
    const testFile = join(dir, 'broken-alerts.test.yml');
    writeFileSync(testFile, readFileSync(files[1]!, 'utf8').replace(ALERT_FILES.rules, 'broken-alerts.yml'));
    const run = promtool(['test', 'rules', testFile]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('MigrationLag');
  });

  it('every dashboard query parses and names only metrics carve exports; the provisioning file points at it', () => {
    const dashboard = JSON.parse(readFileSync(join(dir, ALERT_FILES.dashboard), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThan(15);
    // promtool parses expressions in rule files: one recording rule per panel query.
    const checkFile = join(dir, 'panel-queries.yml');
    writeFileSync(
      checkFile,
      stringify({
        groups: [
          { name: 'panels', rules: exprs.map((expr, i) => ({ record: `carve:panel_query_${i}`, expr })) },
        ],
      }),
    );
    const check = promtool(['check', 'rules', checkFile]);
    expect(check.code, check.output).toBe(0);
    const exported = exportedMetricNames();
    const used = new Set(
      [...exprs, ...alertRules({ migration: 'm' }).map((r) => r.expr)].flatMap(metricNames),
    );
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    for (const name of [
      'migration_progress_ratio',
      'migration_lag_seconds',
      'process_resident_memory_bytes',
      'migration_service_phase',
    ])
      expect(used).toContain(name);
    const provisioning = parse(readFileSync(join(dir, ALERT_FILES.provisioning), 'utf8'));
    expect(provisioning).toMatchObject({
      apiVersion: 1,
      providers: [{ type: 'file', options: { path: expect.any(String) } }],
    });
  });

  it('refuses a bad metrics or dashboard port before any work (USAGE, exit 2)', async () => {
    for (const args of [
      ['sync', '--plan', 'none.yaml', '--metrics-port', '70000'],
      ['copy', '--plan', 'none.yaml', '--metrics-port', '0x10'],
      ['migrate', '--plan', 'none.yaml', '--metrics-host', '0.0.0.0'],
      ['migrate', '--plan', 'none.yaml', '--serve-port', '-1'],
      ['serve', '--plan', 'none.yaml', '--port', 'http'],
      ['cutover', '--plan', 'none.yaml', '--service', 'a', '--metrics-port', '65536'],
      ['rollback', '--plan', 'none.yaml', '--service', 'a', '--metrics-host', '0.0.0.0'],
      ['apply', '--plan', 'none.yaml', '--from', 'kafka', '--service', 'a', '--metrics-port', '99999'],
    ]) {
      const run = await runCarve([...args, '--json']);
      expect(run.code, args.join(' ')).toBe(2);
      expect(JSON.parse(run.stdout)).toMatchObject({ code: 'USAGE' });
    }
  });

  it('the CLI writes the four files from the plan alone (no database)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'carve-alerts-cli-'));
    const planFile = join(out, 'plan.yaml');
    writeFileSync(planFile, planText);
    const run = await runCarve(
      ['alerts', '--plan', planFile, '--out', join(out, 'files'), '--wal-warn', '2GB', '--json'],
      {
        MONOLITH_URL: 'postgres://u@h/db',
        TARGET_URL: 'postgres://u@h/t',
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).files).toHaveLength(4);
    const rules = readFileSync(join(out, 'files', ALERT_FILES.rules), 'utf8');
    expect(rules).toContain(`migration_slot_retained_wal_bytes > ${2 * 1024 ** 3}`);
    expect(promtool(['test', 'rules', join(out, 'files', ALERT_FILES.tests)]).code).toBe(0);
  });
});
