import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PG_OVERLAP_WARNING } from './pg-overlap.js';

const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
export const CARVE_BIN = join(repoRoot, 'bin', 'carve.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `carve <args>` as a subprocess (the built CLI in dist/). */
export function spawnCarve(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [CARVE_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) =>
    child.on('close', (code, signal) =>
      // pg warns (once per process, on stderr) when carve overlaps queries on one client; pg 9
      // makes that an error. Every CLI test fails on it, as in-process tests do
      // (test/support/pg-overlap-guard.ts).
      stderr.includes(PG_OVERLAP_WARNING)
        ? reject(
            new Error(`carve ${args.join(' ')}: pg warned of overlapping queries on one client:\n${stderr}`),
          )
        : resolve({ code, signal, stdout, stderr }),
    ),
  );
  return { child, done };
}

export async function runCarve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return spawnCarve(args, env).done;
}

/**
 * `carve <args>` until it exits on its own; a run still going after `ms` is killed and fails the
 * test (for commands expected to refuse, such as a sync that must stop at its checks).
 */
export async function runCarveUntilExit(args: string[], ms: number): Promise<CliRun> {
  const run = spawnCarve(args);
  try {
    return await Promise.race([
      run.done,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`carve ${args[0]} still runs after ${ms} ms`)), ms),
      ),
    ]);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
}

/** Deterministic pseudo-random numbers for reproducible "random" kill points (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
