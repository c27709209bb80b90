import { describe, expect, it } from 'vitest';
import { KafkaLog, type LogRecord } from '../../src/events/kafka-log.js';

/**
 * KafkaLog.readCommitted pairs data records with their producer's transaction markers. The
 * partition is given as stored records (read() overridden: no broker needed for the pairing).
 */
class StoredLog extends KafkaLog {
  constructor(private readonly stored: LogRecord[]) {
    super({ brokers: [], clientId: 'unit' });
  }

  override read(_topic: string, _partition: number, offset: bigint): Promise<LogRecord[]> {
    return Promise.resolve(this.stored.filter((r) => r.offset >= offset));
  }
}

function data(offset: number, producerId: number, producerEpoch: number): LogRecord {
  return {
    offset: BigInt(offset),
    producerId: BigInt(producerId),
    producerEpoch,
    marker: null,
    key: Buffer.from(`k${offset}`),
    value: Buffer.from('v'),
    headers: new Map(),
  };
}

function marker(
  offset: number,
  producerId: number,
  producerEpoch: number,
  kind: 'commit' | 'abort',
): LogRecord {
  return { ...data(offset, producerId, producerEpoch), marker: kind, key: null, value: null };
}

const offsets = (records: LogRecord[]) => records.map((r) => Number(r.offset));

describe('KafkaLog.readCommitted', () => {
  it('keeps committed transactions, drops aborted ones, lists the open one', async () => {
    const log = new StoredLog([
      data(0, 1, 0),
      data(1, 2, 0),
      marker(2, 1, 0, 'commit'),
      marker(3, 2, 0, 'abort'),
      data(4, 1, 1),
    ]);
    const result = await log.readCommitted('t', 0, 0n, 5n);
    expect(offsets(result.records)).toEqual([0]);
    expect(offsets(result.undecided)).toEqual([4]);
    expect(result.next).toBe(4n);
  });

  it('a transaction whose markers were lost stays undecided when its producer commits a later one', async () => {
    // Producer 1 wrote offsets 0-1 under epoch 0; the broker lost that transaction's markers; the
    // producer, initialised again, committed offsets 2-3 under epoch 1 (its marker at 4).
    const log = new StoredLog([
      data(0, 1, 0),
      data(1, 1, 0),
      data(2, 1, 1),
      data(3, 1, 1),
      marker(4, 1, 2, 'commit'),
    ]);
    const result = await log.readCommitted('t', 0, 0n, 5n);
    expect(offsets(result.records)).toEqual([2, 3]);
    expect(offsets(result.undecided)).toEqual([0, 1]);
    // No marker will come for it: it does not hold the next read back.
    expect(result.next).toBe(5n);
  });
});
