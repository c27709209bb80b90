import { beforeAll, describe, expect, it } from 'vitest';
import { connect, withClient, type Client } from '../../src/pg/connect.js';
import { addLsn, formatLsn, type Lsn } from '../../src/pg/lsn.js';
import { ensurePublication } from '../../src/pg/replication/publication.js';
import { ReplicationStream } from '../../src/pg/replication/replication-stream.js';
import { createSlotWithSnapshot, slotInfo } from '../../src/pg/replication/slot.js';
import { readTransactions, summarize, type ReadTransaction } from '../fixtures/pgoutput/stream-reader.js';
import { useCluster, waitFor } from '../support/cluster.js';

/**
 * What the server does with the acknowledged (flush) position: it becomes confirmed_flush_lsn, and
 * a restarted stream delivers exactly the transactions whose commit record STARTS at or after it.
 * T1 and T2 are made so that T2's commit record starts exactly where T1's ends — the case where
 * acknowledging `endLsn + 1` (pg-logical-replication's acknowledge) loses T2.
 */
const pg = await useCluster({ name: 'repl-ack' });
const url = pg.url();
const CASES = [
  'commit_start',
  'commit_start_plus_1',
  'end',
  'end_plus_1',
  't2_end',
  'monotonic',
  'start_ahead',
  'unacknowledged',
] as const;
let t1: ReadTransaction;
let t2: ReadTransaction;
let marker = 100;

async function stream(slot: string, startLsn?: Lsn): Promise<ReplicationStream> {
  return ReplicationStream.start({ url, slot, publication: 'ack pub', startLsn, statusIntervalMs: 200 });
}

/** The ids inserted by each transaction a fresh stream delivers, up to a new marker transaction. */
async function deliveredAfterRestart(slot: string, startLsn?: Lsn): Promise<string[][]> {
  const id = String(++marker);
  await withClient(url, (c) => c.query('INSERT INTO t VALUES ($1)', [id]));
  const s = await stream(slot, startLsn);
  try {
    const read = await readTransactions(s, (txs) => txs.some((t) => summarize([t])[0]!.includes(id)));
    return summarize(read).filter((ids) => ids.every((x) => Number(x) < 100 || x === id));
  } finally {
    await s.stop();
  }
}

/** Stream `slot` from its start, read T1 and T2, acknowledge `lsn`, stop; return confirmed_flush_lsn. */
async function acknowledgeAndStop(
  slot: string,
  lsn: (t1: ReadTransaction, t2: ReadTransaction) => Lsn,
): Promise<Lsn | null> {
  const s = await stream(slot);
  const read = await readTransactions(s, (txs) => txs.length >= 2);
  expect(summarize(read.slice(0, 2))).toEqual([['1'], ['2']]);
  s.acknowledge(lsn(read[0]!, read[1]!));
  await s.stop();
  const info = await slotInfo(url, slot);
  return info.exists ? info.confirmedFlushLsn : null;
}

beforeAll(async () => {
  await withClient(url, async (c) => {
    await c.query('CREATE TABLE t (id int PRIMARY KEY)');
    await ensurePublication(c, 'ack pub', [{ schema: 'public', name: 't' }]);
  });
  for (const name of ['probe', ...CASES]) await (await createSlotWithSnapshot(url, `ack_${name}`)).close();
  // T2 writes first and commits right after T1, so its commit record follows T1's directly.
  const a: Client = await connect(url);
  try {
    await a.query('BEGIN');
    await a.query('INSERT INTO t VALUES (2)');
    await withClient(url, (b) => b.query('INSERT INTO t VALUES (1)'));
    await a.query('COMMIT');
  } finally {
    await a.end();
  }
  const probe = await stream('ack_probe');
  const read = await readTransactions(probe, (txs) => txs.length >= 2);
  t1 = read[0]!;
  t2 = read[1]!;
  await probe.stop();
});

describe('acknowledgement semantics of a logical slot (PostgreSQL 15)', () => {
  it('sets up T2 whose commit record starts exactly at the end of T1', () => {
    expect(summarize([t1, t2])).toEqual([['1'], ['2']]);
    // Commit.commitLsn is the start of the commit record, Commit.endLsn its end.
    expect(formatLsn(t2.commit.commitLsn)).toBe(formatLsn(t1.commit.endLsn));
  });

  it('acknowledging T1’s commit START re-sends T1', async () => {
    const slot = 'ack_commit_start';
    expect(await acknowledgeAndStop(slot, (a) => a.commit.commitLsn)).toBe(t1.commit.commitLsn);
    expect((await deliveredAfterRestart(slot)).slice(0, 2)).toEqual([['1'], ['2']]);
  });

  it('acknowledging one byte past T1’s commit start already skips T1', async () => {
    const slot = 'ack_commit_start_plus_1';
    expect(await acknowledgeAndStop(slot, (a) => addLsn(a.commit.commitLsn, 1))).toBe(
      addLsn(t1.commit.commitLsn, 1),
    );
    expect((await deliveredAfterRestart(slot))[0]).toEqual(['2']);
  });

  it('acknowledging T1’s commit END (the rule) resumes exactly at T2: nothing skipped, nothing repeated', async () => {
    const slot = 'ack_end';
    expect(await acknowledgeAndStop(slot, (a) => a.commit.endLsn)).toBe(t1.commit.endLsn);
    const delivered = await deliveredAfterRestart(slot);
    expect(delivered[0]).toEqual(['2']);
    expect(delivered.flat()).not.toContain('1');
  });

  it('acknowledging T1’s commit end + 1 LOSES T2 (the pg-logical-replication pitfall, reproduced)', async () => {
    const slot = 'ack_end_plus_1';
    expect(await acknowledgeAndStop(slot, (a) => addLsn(a.commit.endLsn, 1))).toBe(
      addLsn(t1.commit.endLsn, 1),
    );
    const delivered = await deliveredAfterRestart(slot);
    expect(delivered.flat()).not.toContain('2');
    expect(delivered.flat()).not.toContain('1');
  });

  it('acknowledging T2’s commit end delivers only later transactions', async () => {
    const slot = 'ack_t2_end';
    expect(await acknowledgeAndStop(slot, (_a, b) => b.commit.endLsn)).toBe(t2.commit.endLsn);
    const delivered = await deliveredAfterRestart(slot);
    expect(delivered.flat().filter((id) => Number(id) < 100)).toEqual([]);
  });

  it('keeps the acknowledged position monotonic and refuses positions never received', async () => {
    const slot = 'ack_monotonic';
    const s = await stream(slot);
    await readTransactions(s, (txs) => txs.length >= 2);
    s.acknowledge(t2.commit.endLsn);
    s.acknowledge(t1.commit.endLsn); // lower: ignored
    expect(s.acknowledgedLsn).toBe(t2.commit.endLsn);
    expect(() => s.acknowledge(addLsn(s.receivedLsn, 1))).toThrow(
      expect.objectContaining({ code: 'REPLICATION_ACK_AHEAD' }),
    );
    await s.stop();
    expect((await slotInfo(url, slot)).exists && (await slotInfo(url, slot))).toMatchObject({
      confirmedFlushLsn: t2.commit.endLsn,
    });
  });

  it('never reports a received but unacknowledged position, in periodic updates or keepalive replies', async () => {
    const slot = 'ack_unacknowledged';
    const before = await slotInfo(url, slot);
    const s = await stream(slot); // status every 200 ms
    await readTransactions(s, (txs) => txs.length >= 2);
    expect(s.receivedLsn).toBeGreaterThanOrEqual(t2.commit.endLsn);
    // Wait for several status updates after reading T2 (reply_time is when the last one arrived).
    const replyTime = async (): Promise<string | null> =>
      withClient(
        url,
        async (c) =>
          (
            await c.query(
              `SELECT reply_time::text AS t FROM pg_stat_replication WHERE application_name = 'carve sync'`,
            )
          ).rows[0]?.t ?? null,
      );
    const first = await waitFor(replyTime, { what: 'a status update' });
    await waitFor(async () => (await replyTime()) !== first, { what: 'a second status update' });
    const stat = await withClient(
      url,
      async (c) =>
        (await c.query(`SELECT write_lsn::text, flush_lsn::text FROM pg_stat_replication`)).rows[0],
    );
    const initial = before.exists ? formatLsn(before.confirmedFlushLsn!) : '';
    expect(stat).toEqual({ write_lsn: initial, flush_lsn: initial });
    await s.stop();
    const after = await slotInfo(url, slot);
    expect(after.exists && after.confirmedFlushLsn).toBe(before.exists && before.confirmedFlushLsn);
    // Nothing was acknowledged, so everything comes again.
    expect((await deliveredAfterRestart(slot)).slice(0, 2)).toEqual([['1'], ['2']]);
  });

  it('startLsn ahead of confirmed_flush_lsn skips commits starting before it; behind it is raised to it', async () => {
    expect((await deliveredAfterRestart('ack_start_ahead', t1.commit.endLsn))[0]).toEqual(['2']);
    // ack_t2_end has confirmed T2: asking to start earlier does not bring T1/T2 back.
    const delivered = await deliveredAfterRestart('ack_t2_end', t1.commit.commitLsn);
    expect(delivered.flat().filter((id) => Number(id) < 100)).toEqual([]);
  });
});
