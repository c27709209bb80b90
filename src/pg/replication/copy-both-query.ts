import type { Duplex } from 'node:stream';
import type { pg } from '../connect.js';
import { CopyDataFramer } from './copy-data-framer.js';

/**
 * The part of pg's (untyped) Connection a CopyBoth query needs. pg parses the backend protocol
 * itself and hands over one complete CopyData message at a time, so CopyData frames are always
 * aligned here; but the Buffer it passes is a view into pg's parse buffer, which pg reuses for
 * later socket reads, so a receiver that keeps bytes past the callback must copy them.
 */
export interface CopyBothConnection {
  readonly stream: Duplex;
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): boolean | undefined;
  endCopyFrom(): void;
  on(event: 'replicationStart', listener: () => void): unknown;
  removeListener(event: 'replicationStart', listener: () => void): unknown;
}

export interface CopyBothHandlers {
  /** CopyBothResponse ('W') arrived: the server is streaming. */
  onStart(connection: CopyBothConnection): void;
  /** One CopyData body: buf[start, end), bytes the receiver may keep (never reused). */
  onCopyData(buf: Buffer, start: number, end: number): void;
  /** The server sent CommandComplete: it ended the COPY (after our CopyDone, or on its own). */
  onCommandComplete(): void;
  /** ErrorResponse, or the connection was lost (pg reports both here). */
  onError(error: unknown): void;
  /** ReadyForQuery: the command is over and the connection usable again. */
  onReadyForQuery(): void;
}

/**
 * A pg Submittable that runs one CopyBoth command (START_REPLICATION) on a replication connection.
 * pg-copy-streams' copy-both is not used: by default it pushes bytes NOT aligned on CopyData
 * frames, and even with alignOnCopyDataFrame its byte-mode Readable merges frames that are read
 * while paused, so we would need a second framing layer; pg's own parser already frames messages
 * and turns ErrorResponse into an Error with its SQLSTATE. CopyData itself bypasses pg's parser
 * (copy-data-framer.ts): the socket's chunks are framed in place, without copies.
 */
export class CopyBothQuery implements pg.Submittable {
  private connection: CopyBothConnection | undefined;
  private framer: CopyDataFramer | null = null;
  private readonly onReplicationStart = (): void => {
    if (this.connection) this.handlers.onStart(this.connection);
  };

  constructor(
    readonly text: string,
    private readonly handlers: CopyBothHandlers,
  ) {}

  submit(connection: pg.Connection): void {
    this.connection = connection as unknown as CopyBothConnection;
    this.connection.on('replicationStart', this.onReplicationStart);
    // The connection is idle here (pg runs one query at a time), so pg holds no partial message.
    this.framer = CopyDataFramer.install(this.connection.stream, (buf, start, end) =>
      this.handlers.onCopyData(buf, start, end),
    );
    this.connection.query(this.text);
  }

  /** Only without the framer: pg's chunk is a view into a buffer it reuses, so it is copied. */
  handleCopyData(message: { chunk: Buffer }): void {
    const copy = Buffer.from(message.chunk);
    this.handlers.onCopyData(copy, 0, copy.length);
  }

  handleCommandComplete(): void {
    this.handlers.onCommandComplete();
  }

  handleError(error: unknown): void {
    this.detach();
    this.handlers.onError(error);
  }

  handleReadyForQuery(): void {
    this.detach();
    this.handlers.onReadyForQuery();
  }

  // Not expected for START_REPLICATION; present because pg calls them on whatever query is active.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}

  private detach(): void {
    this.framer?.uninstall();
    this.framer = null;
    this.connection?.removeListener('replicationStart', this.onReplicationStart);
  }
}
