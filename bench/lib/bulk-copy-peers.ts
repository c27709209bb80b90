/**
 * The bulk-copy peers carve is measured against, each copying a whole database (minus excluded
 * tables) into one empty target database and ending with its indexes, constraints and planner
 * statistics. Every step runs under GNU time; each runner returns its steps' figures.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quoteQualified } from '../../src/pg/quote.js';
import { runTimed, type TimedRun } from './timed-process.js';

export interface PeerRun {
  seconds: number;
  /** Peak RSS (KiB) of the largest single process of any step. */
  maxRssKb: number;
  /** Wall seconds per step, in order. */
  steps: Record<string, number>;
  /** User + system CPU seconds of the client processes (the tool, psql, pg_dump …). */
  cpuSeconds: number;
}

export interface PeerOptions {
  source: string;
  target: string;
  /** Parallel jobs (tables in flight, index builds in flight). */
  jobs: number;
  /** schema.table names left out (data and definition). */
  exclude: readonly { schema: string; name: string }[];
  /** Scratch directory of this run (dump files, work directories); emptied first. */
  workDir: string;
  /** Appended with every step's stderr. */
  logFile: string;
}

class Steps {
  private readonly started = performance.now();
  readonly steps: Record<string, number> = {};
  maxRssKb = 0;
  cpuSeconds = 0;

  async run(name: string, command: string, args: string[], logFile: string): Promise<TimedRun> {
    const run = await runTimed(command, args, { stderrFile: logFile, stdoutFile: logFile });
    this.steps[name] = run.seconds;
    this.count(run);
    return run;
  }

  count(run: TimedRun): void {
    this.maxRssKb = Math.max(this.maxRssKb, run.maxRssKb);
    this.cpuSeconds += run.userSeconds + run.systemSeconds;
  }

  async time(name: string, fn: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    await fn();
    this.steps[name] = (performance.now() - t0) / 1000;
  }

  done(): PeerRun {
    return {
      seconds: (performance.now() - this.started) / 1000,
      maxRssKb: this.maxRssKb,
      steps: this.steps,
      cpuSeconds: this.cpuSeconds,
    };
  }
}

function freshDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** `pg_dump` / `pg_restore` table pattern for one table, quoted so any name matches only itself. */
function tablePattern(t: { schema: string; name: string }): string {
  return quoteQualified(t.schema, t.name);
}

/**
 * `pgcopydb clone --table-jobs N --index-jobs N`, excluded tables through its filter file.
 * pgcopydb itself runs VACUUM ANALYZE on every table after its copy.
 */
export async function pgcopydbClone(o: PeerOptions): Promise<PeerRun> {
  freshDir(o.workDir);
  const filters = `${o.workDir}.filters.ini`;
  writeFileSync(filters, `[exclude-table]\n${o.exclude.map((t) => `${t.schema}.${t.name}`).join('\n')}\n`);
  const steps = new Steps();
  await steps.run(
    'clone',
    'pgcopydb',
    [
      'clone',
      '--source',
      o.source,
      '--target',
      o.target,
      '--table-jobs',
      String(o.jobs),
      '--index-jobs',
      String(o.jobs),
      '--dir',
      o.workDir,
      '--filters',
      filters,
      '--no-owner',
      '--no-acl',
    ],
    o.logFile,
  );
  return steps.done();
}

/** `pg_dump -Fd -jN` to a directory, `pg_restore -jN` from it, then ANALYZE (`vacuumdb -Z -jN`). */
export async function dumpRestore(o: PeerOptions): Promise<PeerRun> {
  freshDir(o.workDir);
  const steps = new Steps();
  const excludes = o.exclude.flatMap((t) => ['-T', tablePattern(t)]);
  await steps.run(
    'dump',
    'pg_dump',
    ['-Fd', `-j${o.jobs}`, ...excludes, '-f', o.workDir, '-d', o.source],
    o.logFile,
  );
  await steps.run(
    'restore',
    'pg_restore',
    [`-j${o.jobs}`, '--no-owner', '--no-acl', '--exit-on-error', '-d', o.target, o.workDir],
    o.logFile,
  );
  await steps.run(
    'analyze',
    'vacuumdb',
    ['--analyze-only', '--quiet', `-j${o.jobs}`, '-d', o.target],
    o.logFile,
  );
  return steps.done();
}

/**
 * The raw limit: schema-only dump, pre-data restore, then per table
 * `psql -c "COPY t TO STDOUT (FORMAT binary)" | psql -c "COPY t FROM STDIN (FORMAT binary)"`
 * with N pipes at a time (largest tables first), then the post-data section (`pg_restore -jN`:
 * primary keys, indexes, constraints) and ANALYZE (`vacuumdb -Z -jN`).
 */
export async function rawPipeCopy(
  o: PeerOptions & { tables: readonly { schema: string; name: string; bytes: number }[] },
): Promise<PeerRun> {
  freshDir(o.workDir);
  const dump = `${o.workDir}.schema.dump`;
  rmSync(dump, { force: true });
  const steps = new Steps();
  const excludes = o.exclude.flatMap((t) => ['-T', tablePattern(t)]);
  await steps.run(
    'schema-dump',
    'pg_dump',
    ['-Fc', '--schema-only', ...excludes, '-f', dump, '-d', o.source],
    o.logFile,
  );
  const restore = ['--no-owner', '--no-acl', '--exit-on-error', '-d', o.target];
  await steps.run('pre-data', 'pg_restore', ['--section=pre-data', ...restore, dump], o.logFile);
  await steps.time('copy', () => pipeTables(o, (run) => steps.count(run)));
  await steps.run(
    'post-data',
    'pg_restore',
    ['--section=post-data', `-j${o.jobs}`, ...restore, dump],
    o.logFile,
  );
  await steps.run(
    'analyze',
    'vacuumdb',
    ['--analyze-only', '--quiet', `-j${o.jobs}`, '-d', o.target],
    o.logFile,
  );
  return steps.done();
}

async function pipeTables(
  o: PeerOptions & { tables: readonly { schema: string; name: string; bytes: number }[] },
  onRun: (run: TimedRun) => void,
) {
  const queue = [...o.tables].sort((a, b) => b.bytes - a.bytes);
  // The SQL travels in environment variables, so no identifier ever passes through the shell.
  const script =
    'set -o pipefail; psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" -c "$OUT_SQL" | psql -X -q -v ON_ERROR_STOP=1 -d "$DST" -c "$IN_SQL"';
  const pipe = async (t: { schema: string; name: string }) => {
    const table = quoteQualified(t.schema, t.name);
    const env = {
      ...process.env,
      SRC: o.source,
      DST: o.target,
      OUT_SQL: `COPY ${table} TO STDOUT (FORMAT binary)`,
      IN_SQL: `COPY ${table} FROM STDIN (FORMAT binary)`,
    };
    onRun(await runTimed('bash', ['-c', script], { env, stderrFile: o.logFile }));
  };
  await Promise.all(
    Array.from({ length: o.jobs }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) await pipe(t);
    }),
  );
}

export const peerWorkDir = (base: string, tool: string, round: number) => join(base, `${tool}-r${round}`);
