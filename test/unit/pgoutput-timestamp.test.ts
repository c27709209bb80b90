import { describe, expect, it } from 'vitest';
import { pgTimestampNow, pgTimestampToUnixMillis } from '../../src/pg/replication/pg-time.js';
import { pgTimestampToIso, pgTimestampToUnixMicros } from '../../src/sync/pgoutput/index.js';

describe('PostgreSQL timestamps (µs since 2000-01-01)', () => {
  it('renders ISO strings with all six fractional digits', () => {
    expect(pgTimestampToIso(0n)).toBe('2000-01-01T00:00:00.000000Z');
    expect(pgTimestampToIso(1n)).toBe('2000-01-01T00:00:00.000001Z');
    expect(pgTimestampToIso(-1n)).toBe('1999-12-31T23:59:59.999999Z');
    expect(pgTimestampToIso(-1_000_000n)).toBe('1999-12-31T23:59:59.000000Z');
    expect(pgTimestampToIso(852_189_365_123_456n)).toBe('2027-01-02T07:16:05.123456Z');
    expect(pgTimestampToIso(0x7fff_ffff_ffff_ffffn)).toBe('infinity');
    expect(pgTimestampToIso(-0x8000_0000_0000_0000n)).toBe('-infinity');
  });

  it('converts to Unix time exactly and back from the clock', () => {
    expect(pgTimestampToUnixMicros(0n)).toBe(946_684_800_000_000n);
    expect(pgTimestampToUnixMillis(1_999n)).toBe(946_684_800_001);
    expect(pgTimestampToUnixMillis(-1n)).toBe(946_684_799_999);
    const now = Date.UTC(2026, 10, 25, 6, 16, 5, 123);
    expect(pgTimestampToIso(pgTimestampNow(now))).toBe('2026-11-25T06:16:05.123000Z');
  });
});
