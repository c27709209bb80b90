import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pg } from '../../src/pg/connect.js';
import { CopyDataFramer } from '../../src/pg/replication/copy-data-framer.js';
import { parseServerCopyDataAt, type ReplicationMessage } from '../../src/pg/replication/protocol.js';
import { loadStreamFixture, sameMessages, wireBytes } from '../fixtures/pgoutput/load.js';

/**
 * The replication stream frames CopyData straight off the socket and hands every other backend
 * message to pg's parser (copy-data-framer.ts). This feeds the captured stream's exact wire bytes,
 * between a CopyBothResponse before and CommandComplete + ReadyForQuery after, split at every
 * offset, through a real pg Connection with the framer installed, and checks both sides.
 */
const { messages } = loadStreamFixture('stream-text.json');
const copyBoth = Buffer.from([0x57, 0, 0, 0, 7, 0, 0, 0]); // 'W', text, no columns
const commandComplete = Buffer.concat([Buffer.from([0x43, 0, 0, 0, 11]), Buffer.from('COPY 0\0')]);
const readyForQuery = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z', idle
const wire = Buffer.concat([copyBoth, wireBytes(messages), commandComplete, readyForQuery, readyForQuery]);

interface Received {
  messages: ReplicationMessage[];
  pgEvents: string[];
}

function receive(chunks: Buffer[]): Received {
  const socket = new EventEmitter();
  const connection = new pg.Connection() as unknown as EventEmitter & {
    attachListeners(stream: EventEmitter): void;
  };
  connection.attachListeners(socket);
  const pgEvents: string[] = [];
  for (const event of ['replicationStart', 'copyData', 'commandComplete', 'readyForQuery', 'errorMessage'])
    connection.on(event, () => pgEvents.push(event));
  const received: ReplicationMessage[] = [];
  const framer = CopyDataFramer.install(socket as unknown as Duplex, (buf, start, end) =>
    received.push(parseServerCopyDataAt(buf, start, end)),
  )!;
  // As CopyBothQuery does: the socket goes back to pg once the command is over.
  connection.on('readyForQuery', () => framer.uninstall());
  // A socket hands out a fresh buffer per read: the framer keeps views into them.
  for (const chunk of chunks) socket.emit('data', Buffer.from(chunk));
  return { messages: received, pgEvents };
}

const PG_EVENTS = ['replicationStart', 'commandComplete', 'readyForQuery', 'readyForQuery'];

describe('CopyData framed off the socket (copy-data-framer.ts)', () => {
  it('gives the captured messages, and pg every other message, from one chunk', () => {
    expect(messages.length).toBeGreaterThan(50);
    const { messages: got, pgEvents } = receive([wire]);
    expect(sameMessages(got, messages)).toBe(true);
    expect(pgEvents).toEqual(PG_EVENTS);
  });

  it('gives the same when the bytes arrive split at every offset', () => {
    const bad: number[] = [];
    for (let at = 1; at < wire.length; at++) {
      const { messages: got, pgEvents } = receive([wire.subarray(0, at), wire.subarray(at)]);
      if (!sameMessages(got, messages) || pgEvents.join() !== PG_EVENTS.join()) bad.push(at);
    }
    expect(bad).toEqual([]);
  });

  it('gives the same for one-byte chunks and for many irregular chunkings', () => {
    const bytes = Array.from({ length: wire.length }, (_, i) => wire.subarray(i, i + 1));
    const one = receive(bytes);
    expect(sameMessages(one.messages, messages)).toBe(true);
    expect(one.pgEvents).toEqual(PG_EVENTS);
    for (const size of [2, 3, 4, 5, 6, 7, 13, 64, 100, 1000, 4096]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
      const got = receive(chunks);
      expect(sameMessages(got.messages, messages), `chunks of ${size}`).toBe(true);
      expect(got.pgEvents, `chunks of ${size}`).toEqual(PG_EVENTS);
    }
  });

  it('gives pg back the socket with its listeners once uninstalled', () => {
    const socket = new EventEmitter();
    const connection = new pg.Connection() as unknown as EventEmitter & {
      attachListeners(stream: EventEmitter): void;
    };
    connection.attachListeners(socket);
    const pgListeners = socket.listeners('data');
    const framer = CopyDataFramer.install(socket as unknown as Duplex, () => {})!;
    expect(socket.listeners('data')).not.toEqual(pgListeners);
    framer.uninstall();
    framer.uninstall();
    expect(socket.listeners('data')).toEqual(pgListeners);
  });

  it('is not installed on a socket nothing reads', () => {
    expect(CopyDataFramer.install(new EventEmitter() as unknown as Duplex, () => {})).toBeNull();
  });
});
