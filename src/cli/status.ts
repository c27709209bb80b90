import type { Command } from 'commander';
import { readMigrationStatus, type MigrationStatus } from '../migrate/status.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { formatBytes, formatCount, formatSeconds, jsonLine, renderTable } from './format.js';
import { runCommand } from './run-command.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'Where a migration stands: phase, copy progress per table, lag per database, errors, last verify',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--json', 'print the status as one JSON object')
    .action((options: { plan: string; json?: boolean }) =>
      runCommand(options, async () => {
        const { routing } = await prepareRouting(options.plan);
        const status = await readMigrationStatus(routing);
        process.stdout.write(options.json ? jsonLine(status) : renderStatus(status));
      }),
    );
}

export function renderStatus(s: MigrationStatus): string {
  const out: string[] = [`migration ${s.migration}: ${s.phase}`];
  if (s.missing.databases.length)
    out.push(`  missing databases: ${s.missing.databases.join(', ')}  (run carve provision)`);
  if (s.missing.tables.length)
    out.push(`  missing tables: ${s.missing.tables.length}  (run carve provision)`);
  if (s.copy) {
    const c = s.copy;
    const pct = c.estimatedRows
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
      `sync: ${s.sync.running ? 'running' : 'not running'}; slot ${s.sync.slot.name} ${s.sync.slot.exists ? `keeps ${formatBytes(s.sync.slot.retainedWalBytes ?? 0)} of WAL` : 'MISSING'}; monolith at ${s.sync.serverLsn}`,
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
          t.lagSeconds === null ? '-' : t.lagSeconds.toFixed(1),
          t.commitTime ?? '-',
          t.holds
            .map((h) => `${h.lsn}${h.reached ? ' reached' : ''}${h.error ? ` error: ${h.error}` : ''}`)
            .join('; ') || '-',
        ]),
        ['lag', 'lag s'],
      ),
    );
  }
  if (s.verify) {
    out.push(
      '',
      `last verify: ${s.verify.ok === null ? (s.verify.finishedAt ? 'unknown' : 'unfinished') : s.verify.ok ? 'OK' : 'DIFFERENCES'} at ${s.verify.lsn}, started ${s.verify.startedAt}`,
    );
  }
  return `${out.join('\n')}\n`;
}
