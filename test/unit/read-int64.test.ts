import { describe, expect, it } from 'vitest';
import { readInt64BE, readUInt64BE } from '../../src/pg/read-int64.js';

describe('readUInt64BE / readInt64BE', () => {
  const buf = Buffer.alloc(8);

  it('read what Buffer writes, on both sides of 2^53 and at the extremes', () => {
    for (const v of [
      0n,
      1n,
      0xffff_ffffn,
      0x1_0000_0000n,
      (1n << 53n) - 1n,
      1n << 53n,
      0x16_b374_d848n,
      2n ** 64n - 1n,
    ]) {
      buf.writeBigUInt64BE(v);
      expect(readUInt64BE(buf, 0)).toBe(v);
    }
    for (const v of [
      0n,
      -1n,
      -(2n ** 63n),
      2n ** 63n - 1n,
      820_000_000_000_000n,
      -820_000_000_000_000n,
      1n << 53n,
    ]) {
      buf.writeBigInt64BE(v);
      expect(readInt64BE(buf, 0)).toBe(v);
    }
  });

  it('agree with Buffer on random values', () => {
    for (let i = 0; i < 20_000; i++) {
      const high = BigInt(Math.floor(Math.random() * 2 ** 32)) >> BigInt(Math.floor(Math.random() * 33));
      const v = (high << 32n) | BigInt(Math.floor(Math.random() * 2 ** 32));
      buf.writeBigUInt64BE(v);
      expect(readUInt64BE(buf, 0)).toBe(buf.readBigUInt64BE(0));
      expect(readInt64BE(buf, 0)).toBe(buf.readBigInt64BE(0));
    }
  });
});
