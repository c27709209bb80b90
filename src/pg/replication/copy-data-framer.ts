import type { Duplex } from 'node:stream';

/** Backend message type of CopyData. */
const COPY_DATA = 0x64; // 'd'
/** Type byte and Int32 length. */
const HEADER = 5;

type DataListener = (chunk: Buffer) => void;

/**
 * Frames the backend messages of a replication connection straight off its socket, so the
 * CopyData messages of a stream — nearly all of its bytes — never go through pg's parser.
 *
 * Why: pg's parser copies every socket chunk into a parse buffer of its own (it keeps a partial
 * message at the end of nearly every chunk), builds a message object and a Buffer view per
 * message, emits an event, and then, because it reuses that parse buffer, the receiver has to copy
 * the body once more to keep it. A socket hands out a fresh buffer per read, so a CopyData body
 * that lies inside one chunk can be used in place: `onCopyData(buf, start, end)` gets the chunk and
 * the body's offsets, and the bytes stay valid for as long as anyone holds the chunk. Only a message
 * that straddles two reads is copied (into a buffer of its own, also owned).
 *
 * Every other message (CopyBothResponse, CommandComplete, ErrorResponse, ReadyForQuery, notices…)
 * is handed to pg's own listener whole, one message per call, so pg still turns them into its
 * events and errors exactly as before. Installed while the connection is idle (pg's parser holds no
 * partial message then) and removed when the command ends; after removal the rest of the chunk at
 * hand goes to pg as it came.
 */
export class CopyDataFramer {
  private readonly pgListeners: DataListener[];
  private readonly listener: DataListener = (chunk) => this.onData(chunk);
  private installed = true;
  /** A message begun in an earlier read: its first bytes (header only) … */
  private readonly head = Buffer.alloc(HEADER);
  private headLength = 0;
  /** … or, once the header is complete, the whole message being filled. */
  private partial: Buffer | null = null;
  private filled = 0;

  /**
   * Take over the socket's 'data' event from pg's listener(s). Returns null when pg attached none
   * (a pg version that reads the socket another way): the caller then takes pg's CopyData events.
   */
  static install(
    stream: Duplex,
    onCopyData: (buf: Buffer, start: number, end: number) => void,
  ): CopyDataFramer | null {
    const pgListeners = stream.listeners('data') as DataListener[];
    if (pgListeners.length === 0) return null;
    return new CopyDataFramer(stream, pgListeners, onCopyData);
  }

  private constructor(
    private readonly stream: Duplex,
    pgListeners: DataListener[],
    private readonly onCopyData: (buf: Buffer, start: number, end: number) => void,
  ) {
    this.pgListeners = pgListeners;
    for (const listener of pgListeners) stream.removeListener('data', listener);
    stream.on('data', this.listener);
  }

  /** Give the socket back to pg (idempotent). A message still partial then goes to pg too. */
  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    this.stream.removeListener('data', this.listener);
    for (const listener of this.pgListeners) this.stream.on('data', listener);
    const rest =
      this.partial !== null
        ? this.partial.subarray(0, this.filled)
        : this.headLength > 0
          ? this.head.subarray(0, this.headLength)
          : null;
    this.partial = null;
    this.headLength = 0;
    if (rest !== null) this.toPg(rest);
  }

  /** Exposed for tests: what the socket's 'data' event calls. */
  onData(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    if (this.headLength > 0 || this.partial !== null) {
      pos = this.continuePartial(chunk);
      if (pos < 0) return; // still partial, the whole chunk taken
      if (!this.installed) {
        if (pos < length) this.toPg(chunk.subarray(pos));
        return;
      }
    }
    while (pos + HEADER <= length) {
      const end = pos + 1 + chunk.readInt32BE(pos + 1);
      if (end > length) break;
      this.deliver(chunk, pos, end);
      pos = end;
      if (!this.installed) {
        if (pos < length) this.toPg(chunk.subarray(pos));
        return;
      }
    }
    if (pos === length) return;
    if (length - pos < HEADER) {
      chunk.copy(this.head, 0, pos, length);
      this.headLength = length - pos;
      return;
    }
    const partial = Buffer.allocUnsafe(1 + chunk.readInt32BE(pos + 1));
    this.filled = chunk.copy(partial, 0, pos, length);
    this.partial = partial;
  }

  /** Add the chunk's first bytes to the partial message: the offset after it, or −1 if still partial. */
  private continuePartial(chunk: Buffer): number {
    let pos = 0;
    if (this.partial === null) {
      const take = Math.min(HEADER - this.headLength, chunk.length);
      chunk.copy(this.head, this.headLength, 0, take);
      this.headLength += take;
      pos = take;
      if (this.headLength < HEADER) return -1;
      const partial = Buffer.allocUnsafe(1 + this.head.readInt32BE(1));
      this.head.copy(partial, 0);
      this.filled = HEADER;
      this.headLength = 0;
      this.partial = partial;
    }
    const partial = this.partial;
    const take = Math.min(partial.length - this.filled, chunk.length - pos);
    chunk.copy(partial, this.filled, pos, pos + take);
    this.filled += take;
    pos += take;
    if (this.filled < partial.length) return -1;
    this.partial = null;
    this.deliver(partial, 0, partial.length);
    return pos;
  }

  private deliver(buf: Buffer, start: number, end: number): void {
    if (buf[start] === COPY_DATA) this.onCopyData(buf, start + HEADER, end);
    else this.toPg(buf.subarray(start, end));
  }

  /**
   * pg's parser may later write into a buffer it was given (it moves a partial message to the
   * buffer's start), so it gets copies: never the chunks whose CopyData bodies are in use. These
   * messages are a handful per stream.
   */
  private toPg(bytes: Buffer): void {
    bytes = Buffer.from(bytes);
    for (const listener of this.pgListeners) listener.call(this.stream, bytes);
  }
}
