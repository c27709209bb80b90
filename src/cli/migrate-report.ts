import type { MigrateReport } from '../migrate/events.js';
import type { VerifyResult } from '../verify/events.js';
import { formatBytes, formatCount, formatLag, formatSeconds, renderTable } from './format.js';

export interface DatabaseOutcome {
  database: string;
  tables: number;
  sourceRows: number;
  targetRows: number;
  /** Rows present and equal in the target, as a share of the monolith's rows (100 when both are empty). */
  matchPercent: number;
  mismatchedRows: number;
  /** Rows referencing a missing parent across a cut foreign key, not already orphaned in the monolith. */
  orphans: number;
  preexistingOrphans: number;
}

/** Per service database: what verify found (the plan's success criteria: 100% match, 0 orphans). */
export function databaseOutcomes(verify: VerifyResult): DatabaseOutcome[] {
  const byDatabase = new Map<string, DatabaseOutcome>();
  const get = (database: string) => {
    let entry = byDatabase.get(database);
    if (!entry) {
      entry = {
        database,
        tables: 0,
        sourceRows: 0,
        targetRows: 0,
        matchPercent: 100,
        mismatchedRows: 0,
        orphans: 0,
        preexistingOrphans: 0,
      };
      byDatabase.set(database, entry);
    }
    return entry;
  };
  for (const t of verify.tables) {
    const entry = get(t.database);
    entry.tables++;
    entry.sourceRows += t.sourceRows;
    entry.targetRows += t.targetRows;
    entry.mismatchedRows += t.missing + t.extra + t.different;
  }
  for (const fk of verify.foreignKeys) {
    const entry = get(fk.from.database);
    const count = fk.orphans.length + fk.truncated;
    if (fk.status === 'orphans')
      entry.orphans += fk.orphans.filter((o) => !o.preexisting).length + fk.truncated;
    else if (fk.status === 'preexisting-orphans') entry.preexistingOrphans += count;
  }
  for (const entry of byDatabase.values()) {
    const bad = Math.min(entry.sourceRows, entry.mismatchedRows);
    entry.matchPercent =
      entry.sourceRows === 0
        ? entry.targetRows === 0
          ? 100
          : 0
        : (100 * (entry.sourceRows - bad)) / entry.sourceRows;
  }
  return [...byDatabase.values()];
}

function percent(value: number): string {
  // Never round a mismatch up to "100.00%".
  return value === 100 ? '100%' : `${Math.min(99.99, value).toFixed(2)}%`;
}

/** The closing report of `carve migrate` and `carve demo`. */
export function renderMigrateReport(report: MigrateReport, extra: [string, string][] = []): string {
  const lines: string[] = [];
  if (report.verify) {
    const outcomes = databaseOutcomes(report.verify);
    lines.push(
      renderTable(
        ['database', 'tables', 'monolith rows', 'target rows', 'record match', 'orphans'],
        outcomes.map((o) => [
          o.database,
          o.tables,
          formatCount(o.sourceRows),
          formatCount(o.targetRows),
          percent(o.matchPercent),
          o.preexistingOrphans ? `${o.orphans} (+${o.preexistingOrphans} pre-existing)` : String(o.orphans),
        ]),
        ['tables', 'monolith rows', 'target rows', 'record match', 'orphans'],
      ),
      '',
    );
  }
  const copied = report.copy?.routes.reduce((s, r) => s + r.rows, 0) ?? 0;
  const copyBytes = report.copy?.routes.reduce((s, r) => s + r.bytes, 0) ?? 0;
  const copySeconds = report.copy?.seconds ?? 0;
  const lags = report.sync?.targets ?? [];
  const unknownLag = lags.some((t) => t.lagSeconds === null);
  const maxLagSeconds = Math.max(0, ...lags.map((t) => t.lagSeconds ?? 0));
  const lagExact = lags.every((t) => t.lagExact);
  const maxLagBytes = Math.max(0, ...(report.sync?.targets.map((t) => t.lagBytes) ?? [0]));
  const summary: [string, string][] = [
    [
      'record count match',
      report.verify
        ? report.verify.tables.every((t) => t.status === 'ok')
          ? '100% of tables'
          : 'DIFFERENCES FOUND'
        : 'not verified',
    ],
    [
      'orphaned records',
      report.verify
        ? String(
            report.verify.foreignKeys.reduce(
              (s, fk) =>
                s +
                (fk.status === 'orphans'
                  ? fk.orphans.filter((o) => !o.preexisting).length + fk.truncated
                  : 0),
              0,
            ),
          )
        : 'not verified',
    ],
    [
      'rows copied',
      report.copy?.mode === 'already-complete'
        ? 'copied by an earlier run'
        : `${formatCount(copied)} (${formatBytes(copyBytes)}) in ${formatSeconds(copySeconds)}, ${formatCount(copied / Math.max(0.001, copySeconds))} rows/s`,
    ],
    [
      'changes streamed',
      report.sync
        ? `${formatCount(report.sync.changes)} in ${formatCount(report.sync.transactions)} transactions`
        : '-',
    ],
    [
      'final lag',
      report.sync
        ? `${formatBytes(maxLagBytes)}, ${formatLag(unknownLag ? null : maxLagSeconds, lagExact)} s`
        : '-',
    ],
    ...extra,
    ['total duration', formatSeconds(report.seconds)],
    ['peak memory (RSS)', formatBytes(report.peakRssBytes)],
    ['result', report.ok ? 'OK: every table matches, no orphans' : 'NOT OK: see above'],
  ];
  const width = Math.max(...summary.map(([k]) => k.length));
  for (const [key, value] of summary) lines.push(`${key.padEnd(width)}  ${value}`);
  return `${lines.join('\n')}\n`;
}
