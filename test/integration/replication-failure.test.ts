import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import type { ReplicationError } from '../../src/pg/replication/replication-error.js';
import { ensurePublication } from '../../src/pg/replication/publication.js';
import {
  ReplicationStream,
  type ReplicationStreamOptions,
} from '../../src/pg/replication/replication-stream.js';
import { createSlotWithSnapshot, slotInfo } from '../../src/pg/replication/slot.js';
import { readTransactions, type ReadTransaction } from '../fixtures/pgoutput/stream-reader.js';
import { useCluster, waitFor } from '../support/cluster.js';

const pg = await useCluster({ name: 'repl-failure' });
const url = pg.url();
await withClient(url, async (c) => {
  await c.query('CREATE TABLE t (id int PRIMARY KEY)');
  await ensurePublication(c, 'fail pub', [{ schema: 'public', name: 't' }]);
});
const insert = (...ids: number[]): Promise<unknown> =>
  withClient(url, (c) => c.query('INSERT INTO t SELECT unnest($1::int[])', [ids]));
const insertedIds = (txs: ReadTransaction[]): number[] =>
  txs.flatMap((t) =>
    t.changes.flatMap(({ message }) => (message.tag === 'insert' ? [Number(message.newTuple[0])] : [])),
  );

/** What an applier does: reconnect with exponential backoff while the error is transient. */
async function startWithBackoff(
  options: ReplicationStreamOptions,
): Promise<{ stream: ReplicationStream; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { stream: await ReplicationStream.start(options), attempts: attempt };
    } catch (error) {
      if (!(error as ReplicationError).transient || attempt >= 12) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
    }
  }
}

/** Read until `ids` have all arrived, acknowledging each commit and idle keepalives like an applier. */
async function applyUntil(stream: ReplicationStream, ids: number[]): Promise<number[]> {
  const seen: number[] = [];
  await readTransactions(
    stream,
    (txs) => {
      const got = insertedIds(txs);
      if (txs.length > 0) stream.acknowledge(txs[txs.length - 1]!.commit.endLsn);
      seen.splice(0, seen.length, ...got);
      return ids.every((id) => got.includes(id));
    },
    { onKeepalive: (k) => stream.acknowledgeIdle(k) },
  );
  return seen;
}

describe('replication failures surface as transient errors the caller can reconnect from', () => {
  it('pg_terminate_backend of the walsender: SQLSTATE 57P01, then resume without loss or replay', async () => {
    await (await createSlotWithSnapshot(url, 'terminated')).close();
    const options = { url, slot: 'terminated', publication: 'fail pub' };
    const stream = await ReplicationStream.start(options);
    await insert(1, 2);
    expect(await applyUntil(stream, [1, 2])).toEqual([1, 2]);
    await waitFor(async () => {
      const info = await slotInfo(url, 'terminated');
      return info.exists && info.confirmedFlushLsn === stream.acknowledgedLsn;
    });
    const pid = await withClient(
      url,
      async (c) =>
        (await c.query(`SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'terminated'`)).rows[0]
          .active_pid,
    );
    await withClient(url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
    const error = (await readTransactions(stream, () => false).catch((e) => e)) as ReplicationError;
    expect(error).toMatchObject({
      code: 'REPLICATION_SERVER_ERROR',
      sqlState: '57P01',
      transient: true,
      details: { slot: 'terminated', phase: 'streaming' },
    });
    expect(await stream.closed).toEqual({ reason: 'failed', error });

    await insert(3, 4); // committed while disconnected
    const { stream: again } = await startWithBackoff(options);
    expect(await applyUntil(again, [3, 4])).toEqual([3, 4]); // 1 and 2 were acknowledged: not sent again
    await again.stop();
  });

  it('a fast server restart ends the stream (idle acknowledgements let the shutdown finish); reconnect resumes', async () => {
    await (await createSlotWithSnapshot(url, 'restarted')).close();
    const options = { url, slot: 'restarted', publication: 'fail pub' };
    const stream = await ReplicationStream.start(options);
    await insert(10);
    expect(await applyUntil(stream, [10])).toEqual([10]);
    const reading = readTransactions(stream, () => false, {
      timeoutMs: 60_000,
      onKeepalive: (k) => stream.acknowledgeIdle(k),
    }).catch((e) => e);
    const started = Date.now();
    await pg.restart('fast');
    expect(Date.now() - started).toBeLessThan(20_000);
    const error = (await reading) as ReplicationError;
    expect(error.transient).toBe(true);
    expect([
      'REPLICATION_ENDED_BY_SERVER',
      'REPLICATION_SERVER_ERROR',
      'REPLICATION_CONNECTION_LOST',
    ]).toContain(error.code);

    await insert(11);
    // PostgreSQL 15 does not write a slot to disk just because confirmed_flush_lsn moved, so after
    // a restart the slot may be back before 10. The applier resumes from its own durable position.
    const { stream: again } = await startWithBackoff({ ...options, startLsn: stream.acknowledgedLsn });
    expect(await applyUntil(again, [11])).toEqual([11]);
    await again.stop();
  });

  it('a server crash (immediate stop) fails the stream; after restart nothing committed is lost', async () => {
    await (await createSlotWithSnapshot(url, 'crashed')).close();
    const options = { url, slot: 'crashed', publication: 'fail pub' };
    const stream = await ReplicationStream.start(options);
    await insert(20);
    await applyUntil(stream, [20]);
    await insert(21); // committed, maybe not yet read when the server dies
    const reading = readTransactions(stream, () => false, { timeoutMs: 60_000 }).catch((e) => e);
    await pg.stopServer('immediate');
    const error = (await reading) as ReplicationError;
    expect(error.transient).toBe(true);
    await expect(ReplicationStream.start({ ...options, connectTimeoutMs: 1000 })).rejects.toMatchObject({
      code: 'REPLICATION_CONNECTION_LOST',
      transient: true,
      details: { phase: 'connect', errno: 'ECONNREFUSED' },
    });
    await pg.startServer();
    const { stream: again } = await startWithBackoff(options);
    // At-least-once: 20 may come again (confirmed_flush_lsn is flushed at checkpoints); 21 must come.
    const ids = await applyUntil(again, [21]);
    expect(ids.filter((id) => id !== 20)).toEqual([21]);
    await again.stop();
  });
});
