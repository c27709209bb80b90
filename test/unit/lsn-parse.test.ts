import { describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import {
  addLsn,
  compareLsn,
  formatLsn,
  INVALID_LSN,
  lsnDiff,
  maxLsn,
  minLsn,
  parseLsn,
  parseLsnOrNull,
} from '../../src/pg/lsn.js';

describe('LSN', () => {
  it('parses and formats like PostgreSQL', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16_b374d848n);
    expect(parseLsn('0/0')).toBe(INVALID_LSN);
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('ffffffff/ffffffff')).toBe(0xffff_ffff_ffff_ffffn);
    expect(formatLsn(0x16_b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(0x1_0000_0000n)).toBe('1/0');
    expect(formatLsn(0xffff_ffff_ffff_ffffn)).toBe('FFFFFFFF/FFFFFFFF');
  });

  it('round-trips across the 32-bit boundary and above 2^53', () => {
    for (const lsn of [1n, 0xffff_ffffn, 0x1_0000_0000n, 2n ** 53n + 1n, 0xdead_beef_0000_0001n]) {
      expect(parseLsn(formatLsn(lsn))).toBe(lsn);
    }
  });

  it('rejects malformed text with LSN_INVALID and the value in details', () => {
    for (const bad of [
      '',
      '16',
      '16/',
      '/1',
      '16/B374D848/1',
      'g/0',
      '123456789/0',
      ' 0/1',
      '0/1 ',
      '-1/0',
    ]) {
      let caught: unknown;
      try {
        parseLsn(bad);
      } catch (error) {
        caught = error;
      }
      expect(isCarveError(caught, 'LSN_INVALID'), bad).toBe(true);
      expect((caught as { details: { value: string } }).details.value).toBe(bad);
    }
  });

  it('keeps SQL NULL as null', () => {
    expect(parseLsnOrNull(null)).toBeNull();
    expect(parseLsnOrNull(undefined)).toBeNull();
    expect(parseLsnOrNull('0/10')).toBe(16n);
  });

  it('compares, orders, adds and subtracts exactly', () => {
    const a = parseLsn('1/FFFFFFFF');
    const b = parseLsn('2/0');
    expect(compareLsn(a, b)).toBe(-1);
    expect(compareLsn(b, a)).toBe(1);
    expect(compareLsn(a, a)).toBe(0);
    expect(addLsn(a, 1)).toBe(b);
    expect(addLsn(b, -1n)).toBe(a);
    expect(lsnDiff(b, a)).toBe(1n);
    expect(lsnDiff(a, b)).toBe(-1n);
    expect(maxLsn(a, b, 5n)).toBe(b);
    expect(minLsn(a, b, 5n)).toBe(5n);
    expect(() => addLsn(0n, -1)).toThrow(expect.objectContaining({ code: 'LSN_OUT_OF_RANGE' }));
    expect(() => addLsn(0xffff_ffff_ffff_ffffn, 1)).toThrow(
      expect.objectContaining({ code: 'LSN_OUT_OF_RANGE' }),
    );
  });
});
