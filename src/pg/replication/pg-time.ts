/**
 * PostgreSQL's on-the-wire timestamps (TimestampTz in the replication protocol and in pgoutput):
 * signed 64-bit microseconds since 2000-01-01 00:00:00 UTC. Kept as bigint microseconds, because
 * a JavaScript Date has only milliseconds and carve must not lose the commit time's precision.
 */
export type PgTimestamp = bigint;

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01T00:00:00Z). */
export const PG_EPOCH_UNIX_MICROS = 946_684_800_000_000n;

export function pgTimestampToUnixMicros(ts: PgTimestamp): bigint {
  return ts + PG_EPOCH_UNIX_MICROS;
}

export function unixMicrosToPgTimestamp(unixMicros: bigint): PgTimestamp {
  return unixMicros - PG_EPOCH_UNIX_MICROS;
}

/** Now, as a PostgreSQL timestamp (millisecond resolution: the clock we have). */
export function pgTimestampNow(nowMs: number = Date.now()): PgTimestamp {
  return unixMicrosToPgTimestamp(BigInt(Math.round(nowMs)) * 1000n);
}

/** Milliseconds since the Unix epoch, truncated toward −∞ (for Date and lag arithmetic). */
export function pgTimestampToUnixMillis(ts: PgTimestamp): number {
  const micros = pgTimestampToUnixMicros(ts);
  return Number(floorDiv(micros, 1000n));
}

/**
 * ISO-8601 in UTC with all six fractional digits, e.g. `2026-11-25T06:16:05.123456Z`.
 * PostgreSQL's ±infinity (int64 max/min) are rendered as `infinity` / `-infinity`.
 */
export function pgTimestampToIso(ts: PgTimestamp): string {
  if (ts === 0x7fff_ffff_ffff_ffffn) return 'infinity';
  if (ts === -0x8000_0000_0000_0000n) return '-infinity';
  const micros = pgTimestampToUnixMicros(ts);
  const seconds = floorDiv(micros, 1_000_000n);
  const fraction = micros - seconds * 1_000_000n;
  const whole = new Date(Number(seconds) * 1000).toISOString(); // …T06:16:05.000Z
  return `${whole.slice(0, -5)}.${fraction.toString().padStart(6, '0')}Z`;
}

/**
 * SQL rendering a timestamptz column as pgTimestampToIso does (`2026-11-25T06:16:05.123456Z`), so
 * a position read back from a database prints like one just applied (`::text` would give
 * `2026-11-25 06:16:05.123456+00`, in the session's time zone). `column` is SQL, never input.
 */
export function isoTimestampSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
