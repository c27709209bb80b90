import { XLogFrame, type ReplicationMessage } from './protocol.js';

/** Rough per-message cost beyond its payload (object, bigints), for memory accounting. */
const MESSAGE_OVERHEAD_BYTES = 96;

function sizeOf(message: ReplicationMessage): number {
  if (message instanceof XLogFrame) return message.end - message.start + MESSAGE_OVERHEAD_BYTES;
  return message.kind === 'xlogdata'
    ? message.payload.length + MESSAGE_OVERHEAD_BYTES
    : MESSAGE_OVERHEAD_BYTES;
}

/**
 * FIFO of received messages with a byte count, so the stream can stop reading the socket when a
 * slow reader lets it grow (a head index instead of Array.shift keeps take() O(1)).
 */
export class MessageQueue {
  private items: (ReplicationMessage | undefined)[] = [];
  private head = 0;
  private byteCount = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteCount;
  }

  push(message: ReplicationMessage): void {
    // A run of keepalives the reader has not seen yet says nothing the last one does not.
    if (
      message.kind === 'keepalive' &&
      this.length > 0 &&
      this.items[this.items.length - 1]!.kind === 'keepalive'
    ) {
      this.items[this.items.length - 1] = message;
      return;
    }
    this.items.push(message);
    this.byteCount += sizeOf(message);
  }

  /** The oldest message; the queue must not be empty. */
  take(): ReplicationMessage {
    const message = this.items[this.head]!;
    this.items[this.head++] = undefined;
    this.byteCount -= sizeOf(message);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return message;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.byteCount = 0;
  }
}
