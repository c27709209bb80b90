/**
 * PostgreSQL text output (what pgoutput sends in text format) converted to the numbers Debezium's
 * PostgreSQL connector publishes: days, microseconds and milliseconds since the epoch or midnight,
 * average-month durations, unscaled decimals. Pure.
 *
 * Infinite dates and timestamps have no number: they become the int32/int64 extremes, and `null`
 * is returned for text that is no such value (the caller publishes the text unchanged, see
 * docs/events.md).
 */

const MICROS_PER_DAY = 86_400_000_000;
/** Debezium's MicroDuration counts a month as 365.25 / 12 days. */
const MICROS_PER_MONTH = 30.4375 * MICROS_PER_DAY;

const INT64_MAX = '9223372036854775807';
const INT64_MIN = '-9223372036854775808';
const INT32_MAX = '2147483647';
const INT32_MIN = '-2147483648';

/** `YYYY-MM-DD[ BC]` → days since 1970-01-01, as JSON number text. */
export function dateToEpochDays(text: string): string | null {
  if (text === 'infinity') return INT32_MAX;
  if (text === '-infinity') return INT32_MIN;
  const match = /^(\d{4,})-(\d\d)-(\d\d)( BC)?$/.exec(text);
  if (!match) return null;
  const ms = utcMillis(year(match[1]!, match[4]), Number(match[2]), Number(match[3]), 0, 0, 0);
  return String(Math.round(ms / 86_400_000));
}

/** `HH:MM:SS[.ffffff]` → microseconds since midnight (24:00:00 is a valid time). */
export function timeToMicros(text: string): number | null {
  const match = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) return null;
  return (
    ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1_000_000 + fraction(match[4])
  );
}

const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

/**
 * A timestamp (with or without time zone, ISO DateStyle) → microseconds since the epoch in UTC, as
 * JSON number text (exact beyond 2^53 µs). A timestamp without offset is taken as UTC, like
 * Debezium does for `timestamp without time zone`.
 */
export function timestampToEpochMicros(text: string): string | null {
  if (text === 'infinity') return INT64_MAX;
  if (text === '-infinity') return INT64_MIN;
  const parts = timestampParts(text);
  if (!parts) return null;
  return epochMicros(parts.ms, parts.micros);
}

/** Milliseconds since the epoch (truncated toward the past), for timestamp(0..3). */
export function timestampToEpochMillis(text: string): string | null {
  if (text === 'infinity') return INT64_MAX;
  if (text === '-infinity') return INT64_MIN;
  const parts = timestampParts(text);
  if (!parts) return null;
  return String(parts.ms + Math.floor(parts.micros / 1000));
}

/**
 * timestamptz → Debezium's ZonedTimestamp: ISO-8601 in UTC with `digits` fraction digits
 * (`2026-03-04T03:06:07.123456Z`).
 */
export function timestamptzToIso(text: string, digits = 6): string | null {
  if (text === 'infinity' || text === '-infinity') return text;
  const parts = timestampParts(text);
  if (!parts) return null;
  const date = new Date(parts.ms);
  const y = date.getUTCFullYear();
  const yearText =
    y >= 0 && y <= 9999
      ? String(y).padStart(4, '0')
      : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  const fractionText = digits > 0 ? '.' + String(parts.micros).padStart(6, '0').slice(0, digits) : '';
  return `${yearText}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}T${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}${fractionText}Z`;
}

/** timetz `HH:MM:SS[.ffffff]+HH[:MM]` → Debezium's ZonedTime: the time in UTC, `HH:MM:SS.ffffffZ`. */
export function timetzToIso(text: string): string | null {
  const match = /^(\d\d:\d\d:\d\d(?:\.\d{1,6})?)([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(text);
  if (!match) return null;
  const micros = timeToMicros(match[1]!);
  if (micros === null) return null;
  const offset = (Number(match[3]) * 3600 + Number(match[4] ?? 0) * 60 + Number(match[5] ?? 0)) * 1_000_000;
  let utc = micros - (match[2] === '-' ? -offset : offset);
  utc = ((utc % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  const seconds = Math.floor(utc / 1_000_000);
  return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}.${String(utc % 1_000_000).padStart(6, '0')}Z`;
}

/**
 * interval (IntervalStyle postgres: `1 year 2 mons -3 days 04:05:06.789`) → Debezium's
 * MicroDuration: microseconds, a month counted as 30.4375 days.
 */
export function intervalToMicros(text: string): string | null {
  let micros = 0;
  let rest = text.trim();
  const unit = /^([+-]?\d+) (years?|mons?|days?)\s*/;
  for (;;) {
    const match = unit.exec(rest);
    if (!match) break;
    const n = Number(match[1]);
    if (match[2]!.startsWith('year')) micros += n * 12 * MICROS_PER_MONTH;
    else if (match[2]!.startsWith('mon')) micros += n * MICROS_PER_MONTH;
    else micros += n * MICROS_PER_DAY;
    rest = rest.slice(match[0].length);
  }
  if (rest !== '') {
    const match = /^([+-])?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(rest);
    if (!match) return null;
    const time =
      ((Number(match[2]) * 60 + Number(match[3])) * 60 + Number(match[4])) * 1_000_000 + fraction(match[5]);
    micros += match[1] === '-' ? -time : time;
  }
  return String(Math.round(micros));
}

/**
 * numeric text → the unscaled value at `scale` as big-endian two's complement bytes (Kafka
 * Connect's Decimal), base64. PostgreSQL already rounded the value to the column's scale; a value
 * with more digits is rounded half up here. NaN and infinities have no Decimal: null.
 */
export function decimalToBase64(text: string, scale: number): string | null {
  const parsed = parseDecimal(text);
  if (!parsed) return null;
  return bigIntToBase64(rescale(parsed, scale));
}

/**
 * numeric without a declared scale → Debezium's VariableScaleDecimal `{scale, value}`: trailing
 * zeros of the fraction dropped, as Debezium publishes it.
 */
export function variableDecimal(text: string): { scale: number; value: string } | null {
  const parsed = parseDecimal(text);
  if (!parsed) return null;
  let { digits, scale } = parsed;
  while (scale > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  return { scale, value: bigIntToBase64(BigInt(parsed.negative ? `-${digits || '0'}` : digits || '0')) };
}

/** money text (`$1,234.56`, `-$0.50`; lc_monetary C or en_US) → Decimal bytes at scale 2. */
export function moneyToBase64(text: string): string | null {
  const negative = text.includes('-') || text.startsWith('(');
  const cleaned = text.replace(/[^0-9.]/g, '');
  if (cleaned === '') return null;
  return decimalToBase64((negative ? '-' : '') + cleaned, 2);
}

/** bytea text (hex format `\x00ff`, or escape format) → base64 of the bytes. */
export function byteaToBase64(text: string): string {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex').toString('base64');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      if (text[i + 1] === '\\') {
        bytes.push(0x5c);
        i++;
      } else {
        bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
        i += 3;
      }
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('base64');
}

interface ParsedDecimal {
  negative: boolean;
  /** All digits, integer part then fraction, without sign or point. */
  digits: string;
  scale: number;
}

function parseDecimal(text: string): ParsedDecimal | null {
  const match = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return null;
  let digits = (match[2] ?? '') + (match[3] ?? '');
  let scale = (match[3] ?? '').length - Number(match[4] ?? 0);
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  digits = digits.replace(/^0+(?=\d)/, '');
  return { negative: match[1] === '-', digits, scale };
}

function rescale(value: ParsedDecimal, scale: number): bigint {
  let digits = value.digits;
  if (value.scale <= scale) {
    digits += '0'.repeat(scale - value.scale);
    const n = BigInt(digits || '0');
    return value.negative ? -n : n;
  }
  const drop = value.scale - scale;
  const kept = BigInt(digits.slice(0, digits.length - drop) || '0');
  const roundUp = Number(digits[digits.length - drop] ?? '0') >= 5;
  const n = roundUp ? kept + 1n : kept;
  return value.negative ? -n : n;
}

/** Minimal big-endian two's complement bytes, as java.math.BigInteger.toByteArray(). */
function bigIntToBase64(n: bigint): string {
  const bytes: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    // Done when the remaining bits are all sign bits and the top byte's high bit shows the sign.
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes).toString('base64');
}

function timestampParts(text: string): { ms: number; micros: number } | null {
  const match = TIMESTAMP.exec(text);
  if (!match) return null;
  let ms = utcMillis(
    year(match[1]!, match[12]),
    Number(match[2]),
    Number(match[3]),
    Number(match[4]),
    Number(match[5]),
    Number(match[6]),
  );
  if (match[8]) {
    const offset = (Number(match[9]) * 3600 + Number(match[10] ?? 0) * 60 + Number(match[11] ?? 0)) * 1000;
    ms -= match[8] === '-' ? -offset : offset;
  }
  return { ms, micros: fraction(match[7]) };
}

function epochMicros(ms: number, micros: number): string {
  if (Math.abs(ms) < 9e12) return String(ms * 1000 + micros);
  return String(BigInt(ms) * 1000n + BigInt(micros));
}

function utcMillis(y: number, month: number, day: number, h: number, m: number, s: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, month - 1, day);
  date.setUTCHours(h, m, s, 0);
  return date.getTime();
}

/** Astronomical year: 1 BC is year 0. */
function year(digits: string, bc: string | undefined): number {
  const y = Number(digits);
  return bc ? 1 - y : y;
}

function fraction(digits: string | undefined): number {
  return digits ? Number(digits.padEnd(6, '0')) : 0;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
