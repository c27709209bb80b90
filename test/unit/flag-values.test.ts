import { describe, expect, it } from 'vitest';
import { durationFlag, numberFlag, sizeFlag } from '../../src/cli/flag-values.js';
import { CarveError } from '../../src/errors.js';

const usage = (fn: () => unknown, flag: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CarveError);
    expect(error).toMatchObject({ code: 'USAGE', details: expect.objectContaining({ flag }) });
    return;
  }
  throw new Error('accepted');
};

describe('flag values', () => {
  it('reads plain decimal numbers inside the range only', () => {
    const range = { min: 0, max: 100, aboveMin: true };
    expect(numberFlag('--x', '12.5', range)).toBe(12.5);
    expect(numberFlag('--x', '1e1', range)).toBe(10);
    expect(numberFlag('--x', '100', range)).toBe(100);
    for (const bad of ['0', '-1', '0x10', '1_0', '', ' ', 'NaN', 'Infinity', '1e9', '101', '12abc'])
      usage(() => numberFlag('--x', bad, range), '--x');
    usage(() => numberFlag('--n', '2.5', { min: 1, max: 10, integer: true }), '--n');
    expect(numberFlag('--n', '0', { min: 0, max: 10, integer: true })).toBe(0);
  });

  it('reads durations and sizes within bounds', () => {
    const range = { minMs: 1, maxMs: 3_600_000 };
    expect(durationFlag('--d', '1m30s', range)).toBe(90_000);
    expect(durationFlag('--d', '2', range)).toBe(2000);
    for (const bad of ['-5s', '0s', '2h', 'soon', '5 s']) usage(() => durationFlag('--d', bad, range), '--d');
    expect(sizeFlag('--s', '1kB')).toBe(1024);
    expect(sizeFlag('--s', '1GB')).toBe(1024 ** 3);
    expect(sizeFlag('--s', '512')).toBe(512);
    for (const bad of ['0', '-1MB', '1XB', 'lots']) usage(() => sizeFlag('--s', bad), '--s');
  });
});
