import { Header } from '../../src/events/change-messages.js';
import { KafkaLog, type LogRecord } from '../../src/events/kafka-log.js';

export interface ReadEvent {
  topic: string;
  partition: number;
  offset: bigint;
  key: unknown;
  /** Parsed value; null for a tombstone. */
  value: Record<string, unknown> | null;
  headers: Map<string, string>;
}

/** Every committed record of a topic (as a read_committed consumer sees them), parsed. */
export async function readTopic(brokers: string[], topic: string): Promise<ReadEvent[]> {
  const log = new KafkaLog({ brokers, clientId: 'test-reader' });
  try {
    const counts = await log.partitionCounts([topic]);
    const out: ReadEvent[] = [];
    for (let partition = 0; partition < counts.get(topic)!; partition++) {
      const end = await log.endOffset(topic, partition);
      const { records } = await log.readCommitted(topic, partition, 0n, end);
      // A loop, not push(...): a topic can hold more records than call arguments fit on the stack.
      for (const r of records) out.push(parse(topic, partition, r));
    }
    return out;
  } finally {
    await log.close();
  }
}

function parse(topic: string, partition: number, r: LogRecord): ReadEvent {
  return {
    topic,
    partition,
    offset: r.offset,
    key: r.key?.length ? JSON.parse(r.key.toString()) : null,
    value: r.value?.length ? (JSON.parse(r.value.toString()) as Record<string, unknown>) : null,
    headers: r.headers,
  };
}

/** Change events (tombstones left out) by commit LSN and sequence: the source order. */
export function inSourceOrder(events: ReadEvent[]): ReadEvent[] {
  return events
    .filter((e) => e.value !== null)
    .sort((a, b) => {
      const la = a.headers.get(Header.lsn)!;
      const lb = b.headers.get(Header.lsn)!;
      if (la !== lb) return lsnCompare(la, lb);
      return Number(a.headers.get(Header.seq)) - Number(b.headers.get(Header.seq));
    });
}

function lsnCompare(a: string, b: string): number {
  const [ah, al] = a.split('/').map((x) => parseInt(x, 16));
  const [bh, bl] = b.split('/').map((x) => parseInt(x, 16));
  return ah! !== bh! ? ah! - bh! : al! - bl!;
}
