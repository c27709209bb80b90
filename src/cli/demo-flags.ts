import { MAX_LOAD_RATE } from '../demo/load/start-load.js';
import { MAX_SCALE } from '../demo/seed/volumes.js';
import { durationFlag, numberFlag } from './flag-values.js';

/**
 * The numeric flags of `carve demo`, `carve demo seed` and `carve demo load`, each with one range
 * wherever it appears, so a value is accepted or refused (exit 2, naming flag and range) the same
 * way by every subcommand.
 */
export const demoFlags = {
  scale: (value: string) =>
    numberFlag('--scale', value, { min: 0, aboveMin: true, max: MAX_SCALE, example: '0.01' }),
  seed: (value: string) =>
    numberFlag('--seed', value, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, example: '42' }),
  rate: (value: string) =>
    numberFlag('--rate', value, { min: 0, aboveMin: true, max: MAX_LOAD_RATE, example: '100' }),
  /** Up to a week: the load runs in one process. */
  duration: (value: string) => durationFlag('--duration', value, { minMs: 1, maxMs: 7 * 24 * 3_600_000 }),
  max: (value: string) =>
    numberFlag('--max', value, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true, example: '1000' }),
  /** Seed and load connections to the monolith (its max_connections is the real limit). */
  connections: (value: string) =>
    numberFlag('--connections', value, { min: 1, max: 500, integer: true, example: '4' }),
  jobs: (value: string) => numberFlag('--jobs', value, { min: 1, max: 256, integer: true, example: '4' }),
};

/** A demo flag's value, or undefined when it was not given. */
export function demoFlag<K extends keyof typeof demoFlags>(
  name: K,
  value: string | undefined,
): ReturnType<(typeof demoFlags)[K]> | undefined {
  return value === undefined ? undefined : (demoFlags[name](value) as ReturnType<(typeof demoFlags)[K]>);
}
