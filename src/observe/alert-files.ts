import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CarveError } from '../errors.js';
import type { Plan } from '../plan/model.js';
import { renderAlertTests } from './alert-rule-tests.js';
import { renderAlertRules } from './alert-rules.js';
import { grafanaDashboard, grafanaProvisioning } from './grafana-dashboard.js';

export const ALERT_FILES = {
  rules: 'carve-alerts.yml',
  tests: 'carve-alerts.test.yml',
  dashboard: 'carve-dashboard.json',
  provisioning: 'carve-grafana-provisioning.yml',
} as const;

export interface AlertFileOptions {
  /** Fire MigrationSlotRetainedWal above this many bytes. */
  retainedWalBytes?: number;
  /** Where Grafana reads the dashboard JSON from (named in the provisioning file). */
  grafanaDashboardsPath?: string;
}

/**
 * Write the alert rules, their promtool tests, the Grafana dashboard and its provisioning file into
 * `dir` (created if missing). Reads the plan only: no database is needed. Returns the paths.
 */
export function writeAlertFiles(plan: Plan, dir: string, options: AlertFileOptions = {}): string[] {
  const first = plan.services[0];
  const settings = { migration: plan.name, retainedWalBytes: options.retainedWalBytes };
  const files: [string, string][] = [
    [ALERT_FILES.rules, renderAlertRules(settings)],
    [
      ALERT_FILES.tests,
      renderAlertTests({
        ...settings,
        ruleFile: ALERT_FILES.rules,
        database: first?.database ?? 'service_db',
        service: first?.name ?? 'service',
      }),
    ],
    [ALERT_FILES.dashboard, `${JSON.stringify(grafanaDashboard(plan.name), null, 2)}\n`],
    [
      ALERT_FILES.provisioning,
      grafanaProvisioning(plan.name, options.grafanaDashboardsPath ?? '/var/lib/grafana/dashboards/carve'),
    ],
  ];
  try {
    mkdirSync(dir, { recursive: true });
    return files.map(([name, text]) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    });
  } catch (cause) {
    throw new CarveError('OBSERVE_OUT_DIR', `Cannot write the alert files into ${dir}`, {
      details: { dir },
      hint: 'Give a writable directory with --out.',
      cause,
    });
  }
}
