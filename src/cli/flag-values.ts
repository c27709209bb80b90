import { CarveError, isCarveError } from '../errors.js';
import { parseDuration } from '../demo/load/duration.js';

/**
 * Values of command-line flags, read strictly: a plain decimal number (no `0x10`, `1_000`, empty
 * string or `NaN`, which Number() would let through as something else), inside a stated range.
 * Every refusal is a USAGE error (exit 2) that names the flag, the value and the accepted range,
 * with a hint giving a value that is accepted (test/unit/flag-values.test.ts checks every one).
 */
export interface NumberRange {
  min: number;
  max: number;
  /** Whole numbers only. */
  integer?: boolean;
  /** The minimum itself is not accepted (e.g. a rate must be above 0). */
  aboveMin?: boolean;
  /** Shown in the hint, e.g. `100`. */
  example?: string;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function numberFlag(flag: string, value: string, range: NumberRange): number {
  const n = DECIMAL.test(value.trim()) ? Number(value) : Number.NaN;
  const fits =
    Number.isFinite(n) &&
    (range.aboveMin ? n > range.min : n >= range.min) &&
    n <= range.max &&
    (!range.integer || Number.isInteger(n));
  if (!fits) {
    const kind = range.integer ? 'an integer' : 'a number';
    const bounds = range.aboveMin
      ? `greater than ${range.min} and at most ${range.max}`
      : `from ${range.min} to ${range.max}`;
    throw new CarveError('USAGE', `${flag} must be ${kind} ${bounds}, got ${JSON.stringify(value)}`, {
      details: { flag, value, min: range.min, max: range.max, integer: range.integer === true },
      hint: `e.g. ${flag} ${range.example ?? String(range.max >= 1 && range.min < 1 ? 1 : range.min)}`,
    });
  }
  return n;
}

/** numberFlag for an optional flag: undefined stays undefined. */
export function optionalNumberFlag(
  flag: string,
  value: string | undefined,
  range: NumberRange,
): number | undefined {
  return value === undefined ? undefined : numberFlag(flag, value, range);
}

/** One of a fixed set of words (`--sequences auto|strict|advisory`), or USAGE listing them. */
export function choiceFlag<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new CarveError('USAGE', `${flag} must be ${listChoices(choices)}, got ${JSON.stringify(value)}`, {
    details: { flag, value, choices: [...choices] },
    hint: `e.g. ${flag} ${choices[0]}`,
  });
}

function listChoices(choices: readonly string[]): string {
  return choices.length < 2 ? String(choices[0]) : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
}

/** A duration (`30s`, `5m`, `1h30m`, `500ms`, or seconds) in [minMs, maxMs], in milliseconds. */
export function durationFlag(flag: string, value: string, range: { minMs: number; maxMs: number }): number {
  let ms: number | undefined;
  try {
    ms = parseDuration(value);
  } catch (error) {
    if (!isCarveError(error)) throw error;
  }
  if (ms === undefined || ms < range.minMs || ms > range.maxMs) {
    throw new CarveError(
      'USAGE',
      `${flag} must be a duration from ${describeMs(range.minMs)} to ${describeMs(range.maxMs)} (e.g. 30s, 5m, 1h30m), got ${JSON.stringify(value)}`,
      { details: { flag, value, minMs: range.minMs, maxMs: range.maxMs }, hint: `e.g. ${flag} 30s` },
    );
  }
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
};

/** A size as PostgreSQL writes them (`64kB`, `512MB`, `1GB`, `2TB`; 1024-based) or bytes, ≥ 1 byte. */
export function sizeFlag(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?b)?$/i.exec(value.trim());
  const bytes = match ? Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]! : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 1) {
    throw new CarveError(
      'USAGE',
      `${flag} must be a size of at least 1 byte (e.g. 512MB, 1GB, or bytes), got ${JSON.stringify(value)}`,
      { details: { flag, value }, hint: `e.g. ${flag} 1GB` },
    );
  }
  return Math.round(bytes);
}

function describeMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * An optional positive number (--jobs, --chunk-size, --max-keys of copy, migrate, verify, backup),
 * as these flags always read it: anything Number() takes that is finite and above 0.
 */
export function parsePositiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new CarveError('USAGE', `${flag} must be a positive number, got ${JSON.stringify(value)}`, {
      details: { flag, value },
      hint: `e.g. ${flag} 4`,
    });
  }
  return n;
}
