import type { Command } from 'commander';
import { prepareRouting } from '../routing/prepare-routing.js';
import { summarizeRouting, type RoutingSummary } from '../routing/summarize.js';
import { formatBytes, formatCount, jsonLine } from './format.js';
import { runCommand } from './run-command.js';

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('Validate a migration plan against the live monolith and show where every table goes')
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--json', 'print the resolved plan as JSON')
    .action((options: { plan: string; json?: boolean }) =>
      runCommand(options, async () => {
        const { routing } = await prepareRouting(options.plan);
        const summary = summarizeRouting(routing);
        process.stdout.write(options.json ? jsonLine({ ok: true, ...summary }) : renderSummary(summary));
      }),
    );
}

function fk(table: string, columns: string[]): string {
  return `${table}(${columns.join(', ')})`;
}

export function renderSummary(s: RoutingSummary): string {
  const out: string[] = [];
  out.push(
    `Migration ${s.migration}: slot ${s.slot}, publication ${s.publication}, state schema ${s.stateSchema}`,
  );
  out.push(`Source ${s.source}; on source DDL: ${s.schemaChanges}`);
  for (const db of s.databases) {
    out.push('');
    const flags = [
      `service ${db.service}`,
      `role ${db.role}`,
      `carve works as ${db.carveRole}`,
      ...(db.readonly ? ['readonly'] : []),
    ];
    out.push(`${db.database}  (${flags.join(', ')})  ${db.url}`);
    out.push('  tables, in load order:');
    db.tables.forEach((t, i) => {
      const from = t.source !== t.target ? ` ← ${t.source}` : '';
      const kind = t.kind === 'projection' ? ` [projection: ${t.columns.join(', ')}]` : '';
      const rows = t.rowEstimate < 0 ? 'not analyzed' : `~${formatCount(t.rowEstimate)} rows`;
      const size = `${rows}, ${formatBytes(t.totalBytes)}`;
      const parts = t.partitions > 0 ? `, ${t.partitions} partitions` : '';
      out.push(`    ${String(i + 1).padStart(2)}. ${t.target}${from}${kind}  (${size}${parts})`);
      if (t.renamed.length)
        out.push(`        renamed: ${t.renamed.map((r) => `${r.from} → ${r.to}`).join(', ')}`);
      if (t.dropped.length) out.push(`        dropped: ${t.dropped.join(', ')}`);
      if (t.partitionObjects.length)
        out.push(`        declared on partitions: ${t.partitionObjects.join(', ')}`);
    });
    if (db.auditTable) out.push(`  audit table: ${db.auditTable}`);
    if (db.keptForeignKeys.length) {
      out.push('  foreign keys kept (created after the load):');
      for (const k of db.keptForeignKeys)
        out.push(`    ${fk(k.from, k.columns)} → ${fk(k.to, k.toColumns)}  ${k.name}`);
    }
    if (db.cutForeignKeys.length) {
      out.push('  foreign keys cut (checked by verify):');
      for (const c of db.cutForeignKeys) {
        out.push(
          `    ${c.from.database}.${fk(c.from.table, c.from.columns)} → ${c.to.database}.${fk(c.to.table, c.to.columns)}  ${c.name}`,
        );
      }
    }
  }
  out.push('');
  if (s.excluded.length) out.push(`Excluded (stay in the monolith): ${s.excluded.join(', ')}`);
  if (s.warnings.length) {
    out.push(`Warnings (${s.warnings.length}):`);
    for (const w of s.warnings) out.push(`  ${w.code}: ${w.message}`);
  }
  const t = s.totals;
  out.push(
    `Plan OK: ${t.databases} databases, ${t.tables} tables, ${t.projections} projections, ` +
      `${t.keptForeignKeys} foreign keys kept, ${t.cutForeignKeys} cut.`,
  );
  return `${out.join('\n')}\n`;
}
