import { describe, expect, it } from 'vitest';
import { runCarve, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';

/**
 * Every numeric flag of the demo commands is read strictly and within one range (exit 2, naming
 * the flag and the range, before anything is touched), and the write load keeps to its bounds:
 * an overloaded run ends at its duration, the fastest accepted rate still stops on SIGINT.
 */
const NOWHERE = 'postgres://carve@127.0.0.1:1/nothing'; // never reached: flags are read first

const REFUSED: { args: string[]; flag: string }[] = [
  { args: ['demo', 'load', '--source', NOWHERE, '--seed', 'abc'], flag: '--seed' },
  { args: ['demo', 'load', '--source', NOWHERE, '--seed', '1.5'], flag: '--seed' },
  { args: ['demo', 'load', '--source', NOWHERE, '--duration', '-5s'], flag: '--duration' },
  { args: ['demo', 'load', '--source', NOWHERE, '--duration', '0s'], flag: '--duration' },
  { args: ['demo', 'load', '--source', NOWHERE, '--duration', '8d'], flag: '--duration' },
  { args: ['demo', 'load', '--source', NOWHERE, '--duration', '200h'], flag: '--duration' },
  { args: ['demo', 'load', '--source', NOWHERE, '--rate', '0'], flag: '--rate' },
  { args: ['demo', 'load', '--source', NOWHERE, '--rate', '-1'], flag: '--rate' },
  { args: ['demo', 'load', '--source', NOWHERE, '--rate', 'NaN'], flag: '--rate' },
  { args: ['demo', 'load', '--source', NOWHERE, '--rate', 'Infinity'], flag: '--rate' },
  { args: ['demo', 'load', '--source', NOWHERE, '--rate', '1e9'], flag: '--rate' },
  { args: ['demo', 'load', '--source', NOWHERE, '--rate', ''], flag: '--rate' },
  { args: ['demo', 'load', '--source', NOWHERE, '--max', '2.5'], flag: '--max' },
  { args: ['demo', 'load', '--source', NOWHERE, '--max', '0'], flag: '--max' },
  { args: ['demo', 'load', '--source', NOWHERE, '--connections', '0x10'], flag: '--connections' },
  { args: ['demo', 'load', '--source', NOWHERE, '--connections', '100000'], flag: '--connections' },
  { args: ['demo', 'seed', '--source', NOWHERE, '--scale', '0x10'], flag: '--scale' },
  { args: ['demo', 'seed', '--source', NOWHERE, '--scale', '101'], flag: '--scale' },
  { args: ['demo', 'seed', '--source', NOWHERE, '--scale', '1', '--seed', 'abc'], flag: '--seed' },
  { args: ['demo', 'seed', '--source', NOWHERE, '--scale', '1', '--seed', '-3'], flag: '--seed' },
  {
    args: ['demo', 'seed', '--source', NOWHERE, '--scale', '1', '--connections', '1_000'],
    flag: '--connections',
  },
  { args: ['demo', '--scale', '0x10'], flag: '--scale' },
  { args: ['demo', '--scale', '500'], flag: '--scale' },
  { args: ['demo', '--rate', '1e9'], flag: '--rate' },
  { args: ['demo', '--rate', '-1'], flag: '--rate' },
  { args: ['demo', '--seed', 'abc'], flag: '--seed' },
  { args: ['demo', '--jobs', '2.5'], flag: '--jobs' },
];

describe('demo flags', () => {
  const cases = REFUSED.map((c) => ({ ...c, label: c.args.join(' ').replace(NOWHERE, 'URL') }));
  it.each(cases)('refuses `$label` with exit 2 naming $flag and its range', async ({ args, flag }) => {
    const run = await runCarve(args);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`USAGE: ${flag} must be`);
    expect(run.stderr).toMatch(/ (to|at most) \d+|to \d+h/);
  });
});

describe('demo load bounds', () => {
  it('an overloaded run ends at its duration, dropping what it could not start', async () => {
    const cluster = await useCluster({ name: 'demo-bounds' });
    const url = await createDatabase(cluster, 'bounds');
    const seeded = await runCarve(['demo', 'seed', '--source', url, '--scale', '0.001']);
    expect(seeded.code, seeded.stderr).toBe(0);

    const started = Date.now();
    const load = await runCarve([
      'demo',
      'load',
      '--source',
      url,
      '--rate',
      '5000',
      '--duration',
      '3s',
      '--connections',
      '2',
      '--json',
    ]);
    const seconds = (Date.now() - started) / 1000;
    expect(load.code, load.stderr).toBe(0);
    const report = JSON.parse(load.stdout.trim().split('\n').at(-1)!);
    expect(report).toMatchObject({ type: 'report', reason: 'duration', inFlight: 0, queued: 0 });
    expect(report.dropped).toBeGreaterThan(0); // 5000/s on two connections of this machine: overloaded
    expect(report.committed + report.failed + report.dropped).toBe(15_000);
    expect(report.elapsedSeconds).toBeLessThan(3 + 1 + 2); // duration, grace, transactions in flight
    expect(seconds).toBeLessThan(15); // process start and connections included

    // The fastest accepted rate keeps the process responsive: SIGINT stops it promptly.
    const { child, done } = spawnCarve(['demo', 'load', '--source', url, '--rate', '100000', '--json']);
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        stdout += String(d);
        if (/"type":"stats"[^\n]*"committed":[1-9]/.test(stdout)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const stopped = await done;
    expect(Date.now() - interruptedAt).toBeLessThan(5000);
    expect(stopped.code, stopped.stderr).toBe(0);
    const last = JSON.parse(stopped.stdout.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ type: 'report', reason: 'stopped', inFlight: 0 });
  }, 180_000);
});
