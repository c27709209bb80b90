import type { Command } from 'commander';
import { CarveError } from '../errors.js';
import { quoteQualified } from '../pg/quote.js';
import { eventSinks } from '../events/index.js';
import { prepareRouting } from '../routing/prepare-routing.js';
import { verify } from '../verify/index.js';
import type { VerifyEvent, VerifyResult } from '../verify/events.js';
import { createCliHub } from './event-hub.js';
import { choiceFlag, durationFlag, numberFlag, parsePositiveNumber } from './flag-values.js';
import { formatCount, jsonLine, renderTable } from './format.js';
import { runCommand, type CommandOutcome } from './run-command.js';
import { abortOnSignals } from './signals.js';

interface VerifyCliOptions {
  plan: string;
  json?: boolean;
  tables?: string[];
  repairSql?: string;
  jobs?: string;
  resume?: boolean;
  assumeStatic?: boolean;
  catchUp?: boolean;
  maxKeys?: string;
  sequences?: string;
  showKeys: string;
  holdTimeout: string;
  secretsDir?: string;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'Prove the service databases match the monolith at one consistent point: rows (to the key and column), cut foreign keys, sequences',
    )
    .requiredOption('--plan <file>', 'plan file (YAML)')
    .option('--json', 'print the full result as JSON (every mismatched key and orphan)')
    .option('--tables <names...>', 'only these tables (target or monolith names, space or comma separated)')
    .option('--repair-sql <file>', 'write SQL that brings the target rows back to the monolith values')
    .option('--jobs <n>', 'segments compared at once (default 4)')
    .option('--resume', 'continue an interrupted verify (clean segments are not read again)')
    .option(
      '--catch-up',
      'when no carve sync runs and the targets are behind, apply the missing changes first',
    )
    .option('--assume-static', 'nothing writes to the monolith or the targets: read the targets as they are')
    .option('--max-keys <n>', 'mismatched keys kept per table (default 100000; all are counted)')
    .option(
      '--sequences <mode>',
      'auto | strict | advisory: whether a sequence behind its column fails',
      'auto',
    )
    .option('--show-keys <n>', 'mismatched keys printed per table in the summary', '10')
    .option(
      '--hold-timeout <duration>',
      'give up reading both sides at one point after this: the monolith snapshot waits for open transactions, a running sync must reach the point',
      '5m',
    )
    .option(
      '--secrets-dir <dir>',
      "where carve's role passwords are kept (default $CARVE_SECRETS_DIR/<migration> or ~/.carve/secrets/<migration>)",
    )
    .action((options: VerifyCliOptions) => runCommand(options, () => run(options)));
}

async function run(options: VerifyCliOptions): Promise<CommandOutcome> {
  const jobs = parsePositiveNumber('--jobs', options.jobs);
  const maxKeys = parsePositiveNumber('--max-keys', options.maxKeys);
  const showKeys = numberFlag('--show-keys', options.showKeys, {
    min: 0,
    max: 1_000_000,
    integer: true,
    example: '10',
  });
  const holdTimeoutMs = durationFlag('--hold-timeout', options.holdTimeout, {
    minMs: 1000,
    maxMs: 86_400_000,
  });
  choiceFlag('--sequences', options.sequences ?? 'auto', ['auto', 'strict', 'advisory']);
  if (options.assumeStatic && options.catchUp)
    throw new CarveError('USAGE', '--assume-static and --catch-up exclude each other', {
      hint: 'Leave one out: --catch-up when the targets are behind and no carve sync runs, --assume-static when nothing writes anywhere.',
    });
  const tables = options.tables
    ?.flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  const { routing } = await prepareRouting(options.plan, { logins: { secretsDir: options.secretsDir } });
  const signal = abortOnSignals();
  const hub = createCliHub();
  if (!options.json) hub.on('verify', progress);
  const result = await verify({
    routing,
    ...(tables?.length ? { tables } : {}),
    ...(jobs ? { jobs: Math.floor(jobs) } : {}),
    ...(maxKeys ? { maxKeysPerTable: Math.floor(maxKeys) } : {}),
    ...(options.repairSql ? { repairSqlFile: options.repairSql } : {}),
    resume: options.resume === true,
    catchUp: options.catchUp === true,
    catchUpSinks: eventSinks(routing),
    holdTimeoutMs,
    alignment: options.assumeStatic ? 'assume-static' : 'auto',
    sequences: (options.sequences ?? 'auto') as 'auto' | 'strict' | 'advisory',
    onEvent: hub.emitter('verify'),
    signal,
  });
  if (options.json) process.stdout.write(jsonLine(result));
  else process.stdout.write(renderVerifySummary(result, showKeys));
  if (options.repairSql && !options.json)
    process.stdout.write(`Repair SQL written to ${options.repairSql} (psql -v ON_ERROR_STOP=1 -f …)\n`);
  return { exit: result.ok ? 'ok' : 'mismatch' };
}

function progress(event: VerifyEvent): void {
  if (event.type === 'aligned') {
    process.stderr.write(
      `carve verify: reading both sides at monolith LSN ${event.lsn} (${event.alignment}, aligned in ${event.ms} ms)\n`,
    );
  } else if (event.type === 'route-done' && process.stderr.isTTY) {
    const r = event.result;
    process.stderr.write(
      `  ${r.status === 'ok' ? 'ok     ' : 'DIFFERS'} ${r.database}.${r.target.schema}.${r.target.name}\n`,
    );
  }
}

/** One line per table, then cut foreign keys, sequences, and the first mismatched keys. */
export function renderVerifySummary(result: VerifyResult, showKeys = 10): string {
  const out: string[] = [];
  const orphansOf = (routeId: string) =>
    result.foreignKeys
      .filter((f) => f.from.routeId === routeId)
      .reduce((n, f) => n + f.orphans.filter((o) => !o.preexisting).length + f.truncated, 0);
  const rows = result.tables.map((t) => {
    const orphans = orphansOf(t.routeId);
    const status = t.status === 'differs' ? 'differs' : orphans > 0 ? 'orphans' : 'ok';
    return [
      t.database,
      `${t.target.schema}.${t.target.name}${t.kind === 'projection' ? ' (projection)' : ''}`,
      status,
      formatCount(t.sourceRows),
      formatCount(t.targetRows),
      formatCount(t.missing),
      formatCount(t.extra),
      formatCount(t.different),
      formatCount(orphans),
      t.seconds.toFixed(1),
    ];
  });
  out.push(`Verified at monolith LSN ${result.lsn} (${result.alignment}), run ${result.runId}`);
  out.push(
    renderTable(
      [
        'database',
        'table',
        'status',
        'monolith rows',
        'target rows',
        'missing',
        'extra',
        'different',
        'orphans',
        'seconds',
      ],
      rows,
      ['monolith rows', 'target rows', 'missing', 'extra', 'different', 'orphans', 'seconds'],
    ),
  );
  if (result.foreignKeys.length) {
    out.push('', 'Cut foreign keys:');
    for (const f of result.foreignKeys) {
      const pre = f.orphans.filter((o) => o.preexisting).length;
      const fresh = f.orphans.length - pre + f.truncated;
      const what =
        f.status === 'ok'
          ? 'ok'
          : `${fresh} orphan(s)${pre ? `, ${pre} already orphaned in the monolith` : ''}`;
      out.push(
        `  ${f.from.database}.${f.from.table.name}(${f.from.columns.join(', ')}) → ${f.to.database}.${f.to.table.name}(${f.to.columns.join(', ')})  ${what}`,
      );
      for (const o of f.orphans.slice(0, showKeys)) {
        out.push(
          `      ${JSON.stringify(o.key)} → ${JSON.stringify(o.values)}${o.preexisting ? ' (pre-existing)' : ''}`,
        );
      }
    }
  }
  const behind = result.sequences.filter((s) => s.status === 'behind');
  out.push(
    '',
    `Sequences: ${result.sequences.length - behind.length} of ${result.sequences.length} past their column's maximum`,
  );
  for (const s of behind) {
    out.push(
      `  ${s.database}: ${s.sequence} next ${s.next} ≤ max(${s.table.name}.${s.column}) ${s.max}${s.failing ? '' : ' (advisory: the running sync moves sequences every few seconds and when it stops)'}`,
    );
    if (s.failing && s.repairSql) out.push(`    → in ${s.database} run: ${s.repairSql}`);
  }
  for (const t of result.tables.filter((x) => x.partitions)) {
    const q = (r: { schema: string; name: string }) => quoteQualified(r.schema, r.name);
    out.push('', `${t.database}.${t.target.name}: partitions differ from the monolith's`);
    for (const p of t.partitions!.onlyInTarget) {
      out.push(
        `  ${p.schema}.${p.name} is no partition of ${t.source.schema}.${t.source.name} on the monolith (detached there?)`,
        `    → to match: ALTER TABLE ${q(t.target)} DETACH PARTITION ${q(p)}; in ${t.database}, then verify again`,
      );
    }
    for (const p of t.partitions!.onlyInMonolith) {
      out.push(
        `  ${p.schema}.${p.name} is a partition on the monolith only: carve provision (run again) creates it; rows it held when attached were not streamed — copy them, or copy the table again`,
      );
    }
  }
  for (const t of result.tables.filter((x) => x.status === 'differs')) {
    out.push(
      '',
      `${t.database}.${t.target.name}: ${t.missing} missing, ${t.extra} extra, ${t.different} different`,
    );
    for (const r of t.mismatches.slice(0, showKeys)) {
      const cols = r.columns
        ?.map((c) => `${c.column}: ${JSON.stringify(c.source)} ≠ ${JSON.stringify(c.target)}`)
        .join('; ');
      out.push(`  ${r.kind.padEnd(9)} ${JSON.stringify(r.key)}${cols ? `  ${cols}` : ''}`);
    }
    const more = t.missing + t.extra + t.different - Math.min(showKeys, t.mismatches.length);
    if (more > 0) out.push(`  … and ${formatCount(more)} more (--json lists every key)`);
  }
  out.push(
    '',
    result.ok
      ? `OK: everything matches (${result.seconds.toFixed(1)} s)`
      : `MISMATCH (${result.seconds.toFixed(1)} s)`,
  );
  return `${out.join('\n')}\n`;
}
