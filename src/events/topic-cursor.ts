import { parseLsn, type Lsn } from '../pg/lsn.js';
import { Header } from './change-messages.js';
import type { KafkaLog, LogRecord } from './kafka-log.js';

/** A change event read back, with its place in the source order. */
export interface OrderedRecord {
  topic: string;
  partition: number;
  record: LogRecord;
  lsn: Lsn;
  seq: number;
}

/**
 * Reads one partition's range [from, to) in chunks: the change events carve wrote (tombstones,
 * transaction markers and the delete half of a key change, which carry no carve headers, are
 * passed over).
 */
export class PartitionCursor {
  private buffer: OrderedRecord[] = [];
  private next: bigint;

  constructor(
    private readonly log: KafkaLog,
    readonly topic: string,
    readonly partition: number,
    from: bigint,
    private readonly to: bigint,
    private readonly chunkBytes = 1024 * 1024,
  ) {
    this.next = from;
  }

  async peek(): Promise<OrderedRecord | undefined> {
    while (this.buffer.length === 0 && this.next < this.to) {
      const records = await this.log.read(this.topic, this.partition, this.next, this.chunkBytes);
      if (records.length === 0)
        throw new Error(`no records at ${this.topic}[${this.partition}] offset ${this.next}`);
      for (const record of records) {
        if (record.offset >= this.to) break;
        this.next = record.offset + 1n;
        const lsn = record.headers.get(Header.lsn);
        if (record.marker || record.value === null || lsn === undefined || !record.headers.has(Header.kind))
          continue;
        this.buffer.push({
          topic: this.topic,
          partition: this.partition,
          record,
          lsn: parseLsn(lsn),
          seq: Number(record.headers.get(Header.seq)),
        });
      }
      if (records.at(-1)!.offset + 1n > this.next) this.next = records.at(-1)!.offset + 1n;
    }
    return this.buffer[0];
  }

  shift(): void {
    this.buffer.shift();
  }
}

/**
 * The events of several partitions in source order (commit LSN, then position in the
 * transaction): each partition holds its events in that order, so a k-way merge restores the
 * order across tables that one source transaction wrote.
 */
export async function* mergeInSourceOrder(cursors: PartitionCursor[]): AsyncGenerator<OrderedRecord> {
  for (;;) {
    let best: OrderedRecord | undefined;
    let bestCursor: PartitionCursor | undefined;
    for (const cursor of cursors) {
      const head = await cursor.peek();
      if (!head) continue;
      if (!best || head.lsn < best.lsn || (head.lsn === best.lsn && head.seq < best.seq)) {
        best = head;
        bestCursor = cursor;
      }
    }
    if (!best) return;
    bestCursor!.shift();
    yield best;
  }
}
