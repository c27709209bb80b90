/**
 * 64-bit big-endian integers as bigint, with one bigint allocation instead of Buffer's four when
 * the value fits in 2^53 (every LSN below 8 PiB of WAL, every timestamp in µs before year 2285):
 * the replication stream reads three per message.
 */
const TWO_32 = 0x1_0000_0000;
const HIGH_LIMIT = 0x20_0000; // 2^21: high word × 2^32 + low word stays below 2^53

export function readUInt64BE(buf: Buffer, at: number): bigint {
  const high = buf.readUInt32BE(at);
  if (high >= HIGH_LIMIT) return buf.readBigUInt64BE(at);
  return BigInt(high * TWO_32 + buf.readUInt32BE(at + 4));
}

export function readInt64BE(buf: Buffer, at: number): bigint {
  const high = buf.readInt32BE(at);
  if (high >= HIGH_LIMIT || high < 0) return buf.readBigInt64BE(at);
  return BigInt(high * TWO_32 + buf.readUInt32BE(at + 4));
}
