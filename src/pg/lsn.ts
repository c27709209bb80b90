import { CarveError } from '../errors.js';

/**
 * A WAL position (pg_lsn). PostgreSQL prints it as two hex halves, `16/B374D848`; carve keeps it
 * as an unsigned 64-bit bigint so that comparison and arithmetic are exact (a JS number loses
 * precision above 2^53 bytes of WAL, which a busy server does reach).
 */
export type Lsn = bigint;

/** `0/0`: PostgreSQL's InvalidXLogRecPtr, "no position". */
export const INVALID_LSN: Lsn = 0n;

const MAX_LSN: Lsn = 0xffff_ffff_ffff_ffffn;
const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parse `16/B374D848` (as printed by PostgreSQL). Throws CarveError LSN_INVALID on anything else. */
export function parseLsn(text: string): Lsn {
  const match = LSN_PATTERN.exec(text);
  if (!match) {
    throw new CarveError('LSN_INVALID', `not a WAL position (LSN): ${JSON.stringify(text)}`, {
      details: { value: text },
      hint: 'An LSN is two hexadecimal numbers separated by a slash, e.g. 16/B374D848.',
    });
  }
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Like parseLsn, but SQL NULL (e.g. confirmed_flush_lsn of a physical slot) stays null. */
export function parseLsnOrNull(text: string | null | undefined): Lsn | null {
  return text === null || text === undefined ? null : parseLsn(text);
}

/** Format as PostgreSQL does: upper-case hex, no leading zeros in either half. */
export function formatLsn(lsn: Lsn): string {
  assertLsnRange(lsn);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxLsn(first: Lsn, ...rest: Lsn[]): Lsn {
  return rest.reduce((max, lsn) => (lsn > max ? lsn : max), first);
}

export function minLsn(first: Lsn, ...rest: Lsn[]): Lsn {
  return rest.reduce((min, lsn) => (lsn < min ? lsn : min), first);
}

/** `lsn + bytes`; throws when the result leaves the 64-bit range. */
export function addLsn(lsn: Lsn, bytes: number | bigint): Lsn {
  const result = lsn + BigInt(bytes);
  assertLsnRange(result);
  return result;
}

/** Bytes of WAL from `from` to `to` (negative when `to` is behind), as pg_wal_lsn_diff. */
export function lsnDiff(to: Lsn, from: Lsn): bigint {
  return to - from;
}

function assertLsnRange(lsn: Lsn): void {
  if (lsn < 0n || lsn > MAX_LSN) {
    throw new CarveError('LSN_OUT_OF_RANGE', `WAL position ${lsn} is outside 0 … 2^64-1`, {
      details: { value: lsn.toString() },
    });
  }
}
