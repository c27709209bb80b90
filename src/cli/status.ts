import type { Command } from 'commander';
import { readServicePhases, servicePhaseAlerts, type ServicePhaseStatus } from '../cutover/index.js';
import { DEFAULT_WAL_WARN_BYTES, readMigrationStatus, type MigrationStatus } from '../migrate/status.js';
import type { SlotStatus } from '../sync/status.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { sizeFlag } from './flag-values.js';
import { formatBytes, formatCount, formatLag, formatSeconds, jsonLine, renderTable } from './format.js';
import { runCommand, withPlanFile } from './run-command.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'Where a migration stands: phase, copy progress per table, lag per database, errors, last verify',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option(
      '--wal-warn <size>',
      `warn when the slot keeps more WAL than this while no sync runs (default ${formatBytes(DEFAULT_WAL_WARN_BYTES)})`,
    )
    .option('--json', 'print the status as one JSON object')
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: { plan: string; walWarn?: string; json?: boolean; secretsDir?: string }) =>
      runCommand(options, async () => {
        const walWarnBytes =
          options.walWarn === undefined ? undefined : sizeFlag('--wal-warn', options.walWarn);
        const { routing } = await prepareRouting(options.plan, {
          logins: { secretsDir: options.secretsDir },
        });
        const migration = await readMigrationStatus(routing, { walWarnBytes });
        const services = await readServicePhases(routing);
        // A cut-over service without its reverse stream is as urgent as a lost slot.
        const alerts = [...servicePhaseAlerts(services), ...migration.alerts].sort(
          (a, b) => Number(b.severity === 'error') - Number(a.severity === 'error'),
        );
        const status = { ...migration, alerts, services };
        // Hints name the plan the operator gave.
        for (const alert of status.alerts) alert.hint = withPlanFile(alert.hint, options.plan);
        process.stdout.write(options.json ? jsonLine(status) : renderStatus(status));
        // Exit nonzero when streaming cannot resume or is about to lose WAL, so scripts notice.
        if (status.alerts.some((a) => a.severity === 'error')) return { exit: 'attention' };
      }),
    );
}

export function renderStatus(s: MigrationStatus & { services?: ServicePhaseStatus[] }): string {
  const out: string[] = [`migration ${s.migration}: ${s.phase}`];
  for (const alert of s.alerts) {
    out.push(`  ${alert.severity === 'error' ? 'ERROR' : 'WARNING'} ${alert.code}: ${alert.message}`);
    out.push(`    → ${alert.hint}`);
  }
  if (s.phase === 'torn-down')
    out.push(
      '  the slot and publication are gone (carve teardown): the service databases keep what they had; nothing streams into them',
    );
  if (s.missing.databases.length)
    out.push(`  missing databases: ${s.missing.databases.join(', ')}  (run carve provision)`);
  if (s.missing.tables.length)
    out.push(`  missing tables: ${s.missing.tables.length}  (run carve provision)`);
  if (s.copy) {
    const c = s.copy;
    // Of the monolith's current estimate, which grows with its writes: once the copy is complete a
    // percentage only shrinks ("complete … (76.6%)"), so a finished copy shows its exact count alone.
    const pct =
      c.estimatedRows && !c.finished
        ? ` (${Math.min(100, (100 * c.rowsCopied) / c.estimatedRows).toFixed(1)}%)`
        : '';
    out.push(
      '',
      `copy: ${c.finished ? 'complete' : 'in progress'}, ${c.chunksDone}/${c.chunks} chunks, ${formatCount(c.rowsCopied)} rows${pct}` +
        (c.finished
          ? ''
          : `, ${formatCount(c.rowsPerSecond)} rows/s, ETA ${c.etaSeconds === null ? 'unknown' : formatSeconds(c.etaSeconds)}`),
    );
    const unfinished = c.routes.filter((r) => r.chunksDone < r.chunks || r.chunks === 0);
    if (!c.finished && unfinished.length) {
      out.push(
        renderTable(
          ['table', 'rows copied', 'estimated', 'chunks', 'failed'],
          unfinished.map((r) => [
            r.routeId,
            formatCount(r.rowsCopied),
            formatCount(r.estimatedRows),
            `${r.chunksDone}/${r.chunks}`,
            r.chunksFailed,
          ]),
          ['rows copied', 'estimated', 'failed'],
        ),
      );
    }
    for (const f of c.failures) {
      out.push(
        `  FAILED ${f.routeId} chunk ${f.chunkNo} of ${f.relation} [${f.lower ?? '-∞'}, ${f.upper ?? '+∞'}): ${f.sqlstate ?? ''} ${f.error ?? ''}`,
      );
    }
    if (c.failures.length) out.push('  → run carve copy --resume (or carve migrate) to finish the copy');
    const e = c.catchUpError;
    if (e) {
      out.push(
        `  catch-up of the resumed copy stopped at ${e.at} with ${e.code}${e.database ? ` (${e.database})` : ''}: ${e.message}`,
        ...(e.hint ? [`  → ${e.hint}`] : []),
        '  → then run carve copy --resume (or carve migrate) to finish the copy',
      );
    }
  }
  if (s.sync) {
    out.push(
      '',
      `sync: ${s.sync.running ? 'running' : 'not running'}; ${describeSlot(s.sync.slot)}; monolith at ${s.sync.serverLsn}`,
      ...(s.sync.lastError && !s.sync.running
        ? [
            `  last sync stopped at ${s.sync.lastError.at} with ${s.sync.lastError.code}${s.sync.lastError.database ? ` (${s.sync.lastError.database})` : ''}: ${s.sync.lastError.message}`,
            ...(s.sync.lastError.hint ? [`  → ${s.sync.lastError.hint}`] : []),
          ]
        : []),
      renderTable(
        ['database', 'applied', 'lag', 'lag s', 'last commit', 'holds'],
        s.sync.targets.map((t) => [
          t.database,
          t.appliedLsn ?? '-',
          t.lagBytes === null ? '-' : formatBytes(t.lagBytes),
          t.appliedLsn === null ? '-' : formatLag(t.lagSeconds, t.lagExact),
          t.commitTime ?? '-',
          t.holds
            .map((h) => `${h.lsn}${h.reached ? ' reached' : ''}${h.error ? ` error: ${h.error}` : ''}`)
            .join('; ') || '-',
        ]),
        ['lag', 'lag s'],
      ),
    );
  }
  if (s.services?.some((p) => p.phase !== 'streaming' || p.frozenInService.length)) {
    out.push(
      '',
      'services:',
      renderTable(
        ['service', 'database', 'phase', 'frozen', 'drain LSN', 'reverse'],
        s.services.map((p) => [
          p.service,
          p.database,
          p.phase,
          // Counts here; the tables themselves are in --json (a service owns up to dozens).
          [
            p.frozenOnMonolith.length ? `${p.frozenOnMonolith.length} on monolith` : '',
            p.frozenInService.length ? `${p.frozenInService.length} in ${p.database}` : '',
          ]
            .filter(Boolean)
            .join(', ') || '-',
          p.drainLsn ?? '-',
          p.reverse
            ? p.reverse.running
              ? `running, applied ${p.reverse.appliedLsn ?? '-'}`
              : `NOT RUNNING${p.reverse.lastActivity ? ` (last activity ${p.reverse.lastActivity})` : ''}`
            : '-',
        ]),
        [],
      ),
    );
  }
  if (s.verify) {
    out.push(
      '',
      `last verify: ${s.verify.ok === null ? (s.verify.finishedAt ? 'unknown' : 'unfinished') : s.verify.ok ? 'OK' : 'DIFFERENCES'} at ${s.verify.lsn}, started ${s.verify.startedAt}`,
    );
  }
  if (s.backup) {
    out.push(
      `last backup: ${s.backup.path} at monolith LSN ${s.backup.lsn}, taken ${s.backup.takenAt} (${s.backup.tables} tables, ${s.backup.rows} rows)`,
    );
  }
  return `${out.join('\n')}\n`;
}

function describeSlot(slot: SlotStatus): string {
  if (!slot.exists) return `slot ${slot.name} MISSING`;
  if (slot.walStatus === 'lost') return `slot ${slot.name} LOST (wal_status lost)`;
  const safe = slot.safeWalBytes === null ? '' : `, ${formatBytes(slot.safeWalBytes)} before it loses WAL`;
  return `slot ${slot.name} keeps ${formatBytes(slot.retainedWalBytes ?? 0)} of WAL (${slot.walStatus ?? 'unknown'}${safe})`;
}
