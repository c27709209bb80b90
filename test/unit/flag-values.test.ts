import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import {
  choiceFlag,
  durationFlag,
  numberFlag,
  parsePositiveNumber,
  sizeFlag,
} from '../../src/cli/flag-values.js';
import { CarveError } from '../../src/errors.js';

const usage = (fn: () => unknown, flag: string, accept: (value: string) => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CarveError);
    expect(error).toMatchObject({ code: 'USAGE', details: expect.objectContaining({ flag }) });
    // Every refusal says what to type instead: a hint naming the flag with a value it accepts.
    const hint = (error as CarveError).hint ?? '';
    const example = new RegExp(`^e\\.g\\. ${flag} (\\S+)$`).exec(hint);
    expect(example, hint).not.toBeNull();
    expect(() => accept(example![1]!)).not.toThrow();
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
      usage(
        () => numberFlag('--x', bad, range),
        '--x',
        (v) => numberFlag('--x', v, range),
      );
    usage(
      () => numberFlag('--n', '2.5', { min: 1, max: 10, integer: true }),
      '--n',
      (v) => numberFlag('--n', v, { min: 1, max: 10, integer: true }),
    );
    expect(numberFlag('--n', '0', { min: 0, max: 10, integer: true })).toBe(0);
  });

  it('reads durations and sizes within bounds', () => {
    const range = { minMs: 1, maxMs: 3_600_000 };
    expect(durationFlag('--d', '1m30s', range)).toBe(90_000);
    expect(durationFlag('--d', '2', range)).toBe(2000);
    for (const bad of ['-5s', '0s', '2h', 'soon', '5 s'])
      usage(
        () => durationFlag('--d', bad, range),
        '--d',
        (v) => durationFlag('--d', v, range),
      );
    expect(sizeFlag('--s', '1kB')).toBe(1024);
    expect(sizeFlag('--s', '1GB')).toBe(1024 ** 3);
    expect(sizeFlag('--s', '512')).toBe(512);
    for (const bad of ['0', '-1MB', '1XB', 'lots'])
      usage(
        () => sizeFlag('--s', bad),
        '--s',
        (v) => sizeFlag('--s', v),
      );
  });

  it('reads choices and positive numbers, each refusal with a hint that is accepted', () => {
    const modes = ['auto', 'strict', 'advisory'] as const;
    expect(choiceFlag('--sequences', 'strict', modes)).toBe('strict');
    for (const bad of ['', 'Strict', 'none'])
      usage(
        () => choiceFlag('--sequences', bad, modes),
        '--sequences',
        (v) => choiceFlag('--sequences', v, modes),
      );
    expect(parsePositiveNumber('--jobs', '3')).toBe(3);
    expect(parsePositiveNumber('--jobs', undefined)).toBeUndefined();
    for (const bad of ['0', '-2', 'many'])
      usage(
        () => parsePositiveNumber('--jobs', bad),
        '--jobs',
        (v) => parsePositiveNumber('--jobs', v),
      );
  });

  it('every USAGE error the CLI raises carries a hint', () => {
    // A static check of src/cli: each `new CarveError('USAGE', …)` call must pass a hint, so a usage
    // error is never printed without its → line.
    const dir = new URL('../../src/cli/', import.meta.url);
    const missing: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      for (const match of text.matchAll(/new CarveError\(\s*'USAGE'/g)) {
        let depth = 0;
        let end = match.index + match[0].indexOf('(');
        do {
          const c = text[end++];
          if (c === '(') depth++;
          else if (c === ')') depth--;
        } while (depth > 0 && end < text.length);
        const call = text.slice(match.index, end);
        if (!/\bhint:/.test(call)) missing.push(`${file}: ${call.replace(/\s+/g, ' ').slice(0, 120)}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
