import { spawn } from 'node:child_process';
import { CarveError } from '../errors.js';

/**
 * `--on-switch CMD`: the operator's command that sends the service's traffic to its database (a
 * feature flag, a pooler reload), run with `sh -c` after the reverse stream exists. It may run
 * again when a killed cutover is rerun before recording that it finished: it must be idempotent.
 */
export async function runSwitchCommand(
  command: string,
  env: Record<string, string>,
  onOutput: (stream: 'stdout' | 'stderr', text: string) => void,
): Promise<void> {
  const child = spawn('sh', ['-c', command], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => onOutput('stdout', d.toString()));
  child.stderr.on('data', (d: Buffer) => onOutput('stderr', d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  if (code !== 0) {
    throw new CarveError(
      'CUTOVER_SWITCH_FAILED',
      `The --on-switch command exited with ${code ?? 'a signal'}`,
      {
        details: { command, exitCode: code },
        hint: 'The cutover passed its point of no return and the reverse stream runs: fix the command (or switch by hand), then run carve cutover again; it only finishes the remaining steps.',
      },
    );
  }
}
