/**
 * Run one command under GNU time (`/usr/bin/time -v`): wall time from our own clock, and the
 * resource figures time reports (peak RSS of the largest process in the tree, CPU seconds).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface TimedRun {
  /** Wall seconds, spawn to exit, measured by this process. */
  seconds: number;
  /** "Maximum resident set size" in KiB: the largest single process GNU time waited for. */
  maxRssKb: number;
  userSeconds: number;
  systemSeconds: number;
  exitCode: number;
}

export interface TimedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout goes (appended); also see onStdoutLine. */
  stdoutFile?: string;
  /** Where stderr goes (appended). */
  stderrFile?: string;
  /** Each stdout line as it arrives, with the seconds since the start. */
  onStdoutLine?: (line: string, atSeconds: number) => void;
  /** Throw when the command exits non-zero (default true). */
  check?: boolean;
}

const GNU_TIME = '/usr/bin/time';

export async function runTimed(
  command: string,
  args: string[],
  options: TimedOptions = {},
): Promise<TimedRun> {
  const report = `${options.stderrFile ?? '/tmp/bench-timed'}.${process.pid}.${Date.now()}.time`;
  const started = performance.now();
  const child = spawn(GNU_TIME, ['-v', '-o', report, command, ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = options.stdoutFile ? createWriteStream(options.stdoutFile, { flags: 'a' }) : undefined;
  const err = options.stderrFile ? createWriteStream(options.stderrFile, { flags: 'a' }) : undefined;
  let stderrTail = '';
  child.stderr.on('data', (b: Buffer) => {
    err?.write(b);
    stderrTail = (stderrTail + b.toString('utf8')).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    out?.write(`${line}\n`);
    options.onStdoutLine?.(line, (performance.now() - started) / 1000);
  });
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([out, err].map((s) => s && new Promise((r) => s.end(r))));
  const text = readTimeReport(report);
  rmSync(report, { force: true });
  const field = (label: string) => {
    const m = text.match(new RegExp(`${label}[^:]*:\\s*([\\d.]+)`));
    return m ? Number(m[1]) : NaN;
  };
  const run: TimedRun = {
    seconds,
    maxRssKb: field('Maximum resident set size'),
    userSeconds: field('User time'),
    systemSeconds: field('System time'),
    exitCode,
  };
  if ((options.check ?? true) && exitCode !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${exitCode}:\n${stderrTail}`);
  }
  return run;
}

function readTimeReport(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
