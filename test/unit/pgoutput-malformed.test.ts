import { describe, expect, it } from 'vitest';
import { decodePgoutput, DecodeError } from '../../src/sync/pgoutput/index.js';
import { loadSqlFixture, loadStreamFixture } from '../fixtures/pgoutput/load.js';

const payloads: Buffer[] = [
  ...loadStreamFixture('stream-text.json').messages,
  ...loadStreamFixture('stream-binary.json').messages,
].flatMap((m) => (m.kind === 'xlogdata' ? [m.payload] : []));
payloads.push(...loadSqlFixture('sql-streaming-v2.json').map((m) => m.payload));
payloads.push(...loadSqlFixture('sql-two-phase-v3.json').map((m) => m.payload));

function decodeError(payload: Buffer): DecodeError {
  try {
    decodePgoutput(payload);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw new Error(`expected DecodeError, got ${String(error)}`);
  }
  throw new Error(`decoded without error: ${payload.toString('hex')}`);
}

describe('pgoutput decoder on malformed input', () => {
  it('rejects every strict prefix of every captured message with DecodeError (tag and offset set)', () => {
    let checked = 0;
    for (const payload of payloads) {
      for (let length = 0; length < payload.length; length++) {
        const error = decodeError(payload.subarray(0, length));
        expect(error.code).toBe('PGOUTPUT_DECODE_ERROR');
        expect(error.tag).toBe(length === 0 ? null : String.fromCharCode(payload[0]!));
        expect(error.offset).toBeLessThanOrEqual(length);
        expect(error.details).toMatchObject({ offset: error.offset, length, tag: error.tag });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('rejects a trailing byte after any captured message', () => {
    for (const payload of payloads) {
      const error = decodeError(Buffer.concat([payload, Buffer.from([0])]));
      expect(error.offset).toBe(payload.length);
    }
  });

  it('names the offending byte for impossible values', () => {
    const cases: Array<[string, string, number]> = [
      // Insert: relid 1, 'N', 1 column of kind 'x'
      ['49' + '00000001' + '4e' + '0001' + '78', 'I', 8],
      // Insert: text column with length -1
      ['49' + '00000001' + '4e' + '0001' + '74' + 'ffffffff', 'I', 9],
      // Insert: negative column count
      ['49' + '00000001' + '4e' + 'ffff', 'I', 6],
      // Insert without the 'N' marker
      ['49' + '00000001' + '4b' + '0000', 'I', 5],
      // Update with marker 'X'
      ['55' + '00000001' + '58' + '0000', 'U', 5],
      // Delete with marker 'N' (a delete has no new tuple)
      ['44' + '00000001' + '4e' + '0000', 'D', 5],
      // Relation with replica identity 'z'
      ['52' + '00000001' + '00' + '7400' + '7a' + '0000', 'R', 8],
      // Truncate claiming 3 relations, carrying 1
      ['54' + '00000003' + '00' + '00000001', 'T', 6],
      // Message with negative content length
      ['4d' + '00' + '0000000000000001' + '7000' + 'fffffffe', 'M', 12],
      // Origin name without its NUL terminator
      ['4f' + '0000000000000001' + '6162', 'O', 9],
    ];
    for (const [hex, tag, offset] of cases) {
      const error = decodeError(Buffer.from(hex, 'hex'));
      expect([error.tag, error.offset], hex).toEqual([tag, offset]);
    }
  });

  it('never throws anything but DecodeError on corrupted captured messages', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    let rejected = 0;
    for (let round = 0; round < 20; round++) {
      for (const payload of payloads) {
        const corrupt = Buffer.from(payload);
        for (let flips = 1 + random(3); flips > 0; flips--) corrupt[random(corrupt.length)] = random(256);
        try {
          decodePgoutput(corrupt);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(0);
  });
});
