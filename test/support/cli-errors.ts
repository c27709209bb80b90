import type { ChildProcess } from 'node:child_process';
import { afterEach, expect } from 'vitest';
import { runCarve, type CliRun } from './carve-cli.js';

/**
 * What the error-hint tests share: run a command with `--json`, read the coded error it printed,
 * assert its code, exit status and hint, and assert that the command a hint leads to succeeds.
 */

/** The `{"type":"error",…}` object a `--json` run prints on stdout. */
export interface CliError {
  code: string;
  hint: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Every JSON line a `--json` run printed on stdout. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The error line of a `--json` run (fails the test when there is none). */
export function jsonError(run: CliRun): CliError {
  const line = jsonLines(run.stdout).find((l) => l.type === 'error');
  expect(line, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBeDefined();
  return line as unknown as CliError;
}

/** A finished run failed with `code`, exited `exit`, and gave a hint. */
export function expectError(run: CliRun, code: string, exit: number): CliError {
  const error = jsonError(run);
  expect(error.code, error.message).toBe(code);
  expect(run.code).toBe(exit);
  expect(error.hint).toBeTruthy();
  return error;
}

/** Runs `carve <args> --json` and expects it to fail with `code` (exit 1 unless said). */
export async function fails(args: string[], code: string, exit = 1): Promise<CliError> {
  return expectError(await runCarve([...args, '--json']), code, exit);
}

/** Runs `carve <args>` and expects exit 0. */
export async function succeeds(args: string[]): Promise<CliRun> {
  const run = await runCarve(args);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

/**
 * Processes a failed test left running (push them here when spawned): continued if stopped and
 * killed after each test, so the next tests and the clusters can go on.
 */
export function useLeftovers(): ChildProcess[] {
  const leftovers: ChildProcess[] = [];
  afterEach(() => {
    for (const child of leftovers.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
  });
  return leftovers;
}
