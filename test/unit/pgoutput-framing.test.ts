import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { pg } from '../../src/pg/connect.js';
import {
  encodeStandbyStatus,
  parseServerCopyData,
  type ReplicationMessage,
} from '../../src/pg/replication/protocol.js';
import { decodePgoutput } from '../../src/sync/pgoutput/index.js';
import { copyDataBody, loadStreamFixture, sameMessages, wireBytes } from '../fixtures/pgoutput/load.js';

/**
 * CopyData framing is done by pg's own protocol parser (the same Connection the replication
 * stream runs on); the stream parses each CopyData body and copies the payload. This feeds the
 * captured stream's exact wire bytes through that path, split at every byte offset.
 */
function receive(chunks: Buffer[], copyPayload: boolean): ReplicationMessage[] {
  const socket = new EventEmitter();
  const connection = new pg.Connection() as unknown as EventEmitter & {
    attachListeners(stream: EventEmitter): void;
  };
  connection.attachListeners(socket);
  const received: ReplicationMessage[] = [];
  connection.on('copyData', (message: { chunk: Buffer }) =>
    received.push(parseServerCopyData(message.chunk, { copyPayload })),
  );
  // A socket hands out fresh buffers, and pg's parser writes into the one it was given (it moves
  // a partial message to its start), so every chunk must be a copy, as from a real socket.
  for (const chunk of chunks) socket.emit('data', Buffer.from(chunk));
  return received;
}

const { messages } = loadStreamFixture('stream-text.json');
const wire = wireBytes(messages);

describe('CopyData framing of the replication stream', () => {
  it('parses the whole captured stream into the captured messages', () => {
    expect(messages.length).toBeGreaterThan(50);
    expect(sameMessages(receive([wire], true), messages)).toBe(true);
  });

  it('gives identical messages when the bytes arrive split at every offset', () => {
    const bad: number[] = [];
    for (let at = 1; at < wire.length; at++) {
      if (!sameMessages(receive([wire.subarray(0, at), wire.subarray(at)], true), messages)) bad.push(at);
    }
    expect(bad).toEqual([]);
  });

  it('gives identical messages for one-byte chunks and for many irregular chunkings', () => {
    const bytes = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1));
    expect(sameMessages(receive(bytes, true), messages)).toBe(true);
    for (const size of [2, 3, 5, 7, 13, 64, 100, 1000, 4096]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
      expect(sameMessages(receive(chunks, true), messages), `chunks of ${size}`).toBe(true);
    }
  });

  it('must copy payloads: pg reuses its parse buffer, so views into it are overwritten later', () => {
    const corrupted = [7, 13, 64, 100, 1000].filter((size) => {
      const chunks: Buffer[] = [];
      for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
      return !sameMessages(receive(chunks, false), messages);
    });
    expect(corrupted.length).toBeGreaterThan(0);
  });

  it('decodes every reassembled XLogData payload exactly as the original', () => {
    const halves = receive([wire.subarray(0, 1234), wire.subarray(1234)], true);
    const decoded = halves.flatMap((m) => (m.kind === 'xlogdata' ? [decodePgoutput(m.payload)] : []));
    const original = messages.flatMap((m) => (m.kind === 'xlogdata' ? [decodePgoutput(m.payload)] : []));
    expect(decoded).toEqual(original);
  });

  it('rejects malformed replication messages with REPLICATION_PROTOCOL_ERROR', () => {
    const xlog = copyDataBody(messages.find((m) => m.kind === 'xlogdata')!);
    for (const body of [Buffer.alloc(0), xlog.subarray(0, 24), Buffer.from('k'), Buffer.from('zzz')]) {
      expect(() => parseServerCopyData(body, { copyPayload: true })).toThrow(
        expect.objectContaining({ code: 'REPLICATION_PROTOCOL_ERROR' }),
      );
    }
  });

  it('encodes a Standby Status Update with the one acknowledged position as write, flush and apply', () => {
    const status = encodeStandbyStatus({ position: 0x16_b374d848n, clock: 5n, replyRequested: false });
    expect(status.toString('hex')).toBe('72' + '00000016b374d848'.repeat(3) + '0000000000000005' + '00');
  });
});
