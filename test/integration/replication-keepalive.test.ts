import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { ensurePublication } from '../../src/pg/replication/publication.js';
import { ReplicationStream } from '../../src/pg/replication/replication-stream.js';
import { createSlotWithSnapshot } from '../../src/pg/replication/slot.js';
import { readTransactions, summarize } from '../fixtures/pgoutput/stream-reader.js';
import { useCluster, waitFor } from '../support/cluster.js';

/** wal_sender_timeout = 2s: a client that neither answers keepalives nor reports status is cut off after 2 s. */
const pg = await useCluster({ name: 'repl-keepalive', settings: { wal_sender_timeout: '2s' } });
const url = pg.url();
await withClient(url, async (c) => {
  await c.query('CREATE TABLE t (id int PRIMARY KEY, pad text)');
  await ensurePublication(c, 'ka', [{ schema: 'public', name: 't' }]);
});
let nextId = 0;
const insert = (rows = 1, pad = 0): Promise<unknown> =>
  withClient(url, (c) =>
    c.query(`INSERT INTO t SELECT $1::int + i, repeat('x', $2) FROM generate_series(1, $3) AS i`, [
      (nextId += rows) - rows,
      pad,
      rows,
    ]),
  );
const walsenders = async (): Promise<number> =>
  withClient(url, async (c) =>
    Number((await c.query(`SELECT count(*) AS n FROM pg_stat_replication`)).rows[0].n),
  );

async function newStream(
  slot: string,
  options: { statusIntervalMs?: number; maxBufferedBytes?: number } = {},
): Promise<ReplicationStream> {
  await (await createSlotWithSnapshot(url, slot)).close();
  return ReplicationStream.start({ url, slot, publication: 'ka', ...options });
}

describe('keepalives and status updates with wal_sender_timeout = 2s', () => {
  it('learns the timeout and reports status more often than it', async () => {
    const stream = await newStream('ka_interval');
    expect(stream.walSenderTimeoutMs).toBe(2000);
    expect(stream.statusIntervalMs).toBe(666);
    await stream.stop();
  });

  it('stays connected through 6 s of idleness by answering keepalives at once (periodic updates off)', async () => {
    const stream = await newStream('ka_idle', { statusIntervalMs: 60_000 });
    const started = Date.now();
    let asked = 0;
    while (Date.now() - started < 6000) {
      const batch = await stream.readBatch(1024, 6000 - (Date.now() - started));
      expect(batch).not.toBeNull();
      asked += batch!.filter((m) => m.kind === 'keepalive' && m.replyRequested).length;
    }
    expect(asked).toBeGreaterThanOrEqual(2); // the server asked (at timeout / 2) and got its answers
    expect(stream.state).toBe('streaming');
    await insert();
    expect(summarize(await readTransactions(stream, (txs) => txs.length === 1))).toEqual([[String(nextId)]]);
    await stream.stop();
  });

  it('stays connected through 6 s of a paused reader (backpressure) thanks to the periodic status update', async () => {
    const stream = await newStream('ka_paused', { maxBufferedBytes: 1 });
    await insert(50, 100);
    await waitFor(() => stream.buffered.paused, { what: 'the socket to pause' });
    const since = Date.now();
    await waitFor(() => Date.now() - since > 6000, {
      timeoutMs: 10_000,
      intervalMs: 250,
      what: '6 s paused',
    });
    expect(stream.state).toBe('streaming');
    expect(await walsenders()).toBe(1);
    const read = await readTransactions(stream, (txs) => txs.length === 1);
    expect(read[0]!.changes).toHaveLength(50);
    await stream.stop();
  });

  it('is cut off by the server when paused without periodic updates, and then fails with a transient error', async () => {
    const stream = await newStream('ka_control', { maxBufferedBytes: 1, statusIntervalMs: 60_000 });
    await insert(50, 100);
    await waitFor(() => stream.buffered.paused, { what: 'the socket to pause' });
    await waitFor(async () => (await walsenders()) === 0, {
      timeoutMs: 15_000,
      what: 'the walsender to time out',
    });
    const error = await readTransactions(stream, () => false).catch((e) => e);
    expect(error).toMatchObject({ code: 'REPLICATION_CONNECTION_LOST', transient: true });
    expect(await stream.closed).toMatchObject({
      reason: 'failed',
      error: { code: 'REPLICATION_CONNECTION_LOST' },
    });
  });
});
