import { describe, expect, it } from 'vitest';
import { connect, withClient } from '../../src/pg/connect.js';
import { ensurePublication } from '../../src/pg/replication/publication.js';
import { ReplicationStream } from '../../src/pg/replication/replication-stream.js';
import { createSlotWithSnapshot, dropSlot, identifySystem, slotInfo } from '../../src/pg/replication/slot.js';
import { readTransactions } from '../fixtures/pgoutput/stream-reader.js';
import { useCluster, waitFor } from '../support/cluster.js';

const pg = await useCluster({ name: 'repl-slot' });
const url = pg.url();
await withClient(url, async (c) => {
  await c.query('CREATE TABLE t (id bigserial PRIMARY KEY, writer int NOT NULL)');
  await ensurePublication(c, 'slot pub', [{ schema: 'public', name: 't' }]);
});

/** Two connections inserting one row per transaction as fast as they can, until stopped. */
function startWriters(count = 2): { stop: () => Promise<void> } {
  let running = true;
  const loops = Array.from({ length: count }, async (_, writer) => {
    const client = await connect(url);
    try {
      while (running) await client.query('INSERT INTO t (writer) VALUES ($1)', [writer]);
    } finally {
      await client.end();
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const ids = (rows: { id: string }[]): Set<string> => new Set(rows.map((r) => String(r.id)));

describe('slot with exported snapshot', () => {
  it('splits concurrent inserts exactly: the snapshot sees those before, the stream from consistentPoint those after', async () => {
    const writers = startWriters();
    await waitFor(async () =>
      withClient(url, async (c) => Number((await c.query('SELECT count(*) AS n FROM t')).rows[0].n) > 200),
    );
    const slot = await createSlotWithSnapshot(url, 'split');
    let inSnapshot: Set<string>;
    const reader = await connect(url);
    try {
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await reader.query(`SET TRANSACTION SNAPSHOT '${slot.snapshotName}'`);
      inSnapshot = ids((await reader.query('SELECT id FROM t')).rows);
      await reader.query('COMMIT');
    } finally {
      await reader.end();
    }
    await slot.close();
    // Let the writers go on after the slot for a while, then stop them.
    await waitFor(async () =>
      withClient(
        url,
        async (c) => Number((await c.query('SELECT count(*) AS n FROM t')).rows[0].n) > inSnapshot.size + 200,
      ),
    );
    await writers.stop();
    const all = ids((await withClient(url, (c) => c.query('SELECT id FROM t'))).rows);

    const stream = await ReplicationStream.start({ url, slot: 'split', publication: 'slot pub' });
    expect(stream.resumeLsn).toBe(slot.consistentPoint);
    const streamed: string[] = [];
    await readTransactions(stream, (txs) => {
      streamed.length = 0;
      for (const t of txs)
        for (const { message } of t.changes)
          if (message.tag === 'insert') streamed.push(String(message.newTuple[0]));
      return inSnapshot.size + streamed.length >= all.size;
    });
    await stream.stop();

    expect(inSnapshot.size).toBeGreaterThan(200);
    expect(streamed.length).toBeGreaterThan(200);
    expect(streamed.filter((id) => inSnapshot.has(id))).toEqual([]); // no duplicate
    expect(new Set(streamed).size).toBe(streamed.length);
    expect([...all].filter((id) => !inSnapshot.has(id) && !streamed.includes(id))).toEqual([]); // no gap
  });

  it('keeps the snapshot importable only while the handle is open', async () => {
    const slot = await createSlotWithSnapshot(url, 'lifetime');
    expect(slot.open).toBe(true);
    expect(slot.plugin).toBe('pgoutput');
    await slot.close();
    expect(slot.open).toBe(false);
    const error = await withClient(url, async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      return c.query(`SET TRANSACTION SNAPSHOT '${slot.snapshotName}'`).then(
        () => null,
        (e: { code?: string }) => e.code,
      );
    });
    expect(error).toBe('22023'); // invalid snapshot identifier
    const info = await slotInfo(url, 'lifetime');
    expect(info).toMatchObject({
      exists: true,
      temporary: false,
      plugin: 'pgoutput',
      slotType: 'logical',
      active: false,
      confirmedFlushLsn: slot.consistentPoint,
    });
  });

  it('refuses to create a slot twice, reports missing slots, and drops idempotently', async () => {
    await (await createSlotWithSnapshot(url, 'twice')).close();
    await expect(createSlotWithSnapshot(url, 'twice')).rejects.toMatchObject({
      code: 'REPLICATION_SLOT_EXISTS',
      details: { slot: 'twice' },
    });
    await expect(createSlotWithSnapshot(url, 'Bad-Name')).rejects.toMatchObject({
      code: 'REPLICATION_SLOT_NAME_INVALID',
    });
    expect(await dropSlot(url, 'twice')).toBe(true);
    expect(await dropSlot(url, 'twice')).toBe(false);
    expect(await slotInfo(url, 'twice')).toEqual({ exists: false, slot: 'twice' });
    await expect(
      ReplicationStream.start({ url, slot: 'twice', publication: 'slot pub' }),
    ).rejects.toMatchObject({
      code: 'REPLICATION_SLOT_NOT_FOUND',
      transient: false,
    });
  });

  it('reports an active slot, the WAL it retains, and refuses a second streamer with a transient error', async () => {
    await (await createSlotWithSnapshot(url, 'busy')).close();
    const stream = await ReplicationStream.start({ url, slot: 'busy', publication: 'slot pub' });
    try {
      const info = await slotInfo(url, 'busy');
      expect(info.exists && info.active).toBe(true);
      expect(info.exists && info.activePid).toBeGreaterThan(0);
      expect(info.exists && info.retainedWalBytes).toBeGreaterThanOrEqual(0n);
      const second = await ReplicationStream.start({ url, slot: 'busy', publication: 'slot pub' }).catch(
        (e) => e,
      );
      expect(second).toMatchObject({ code: 'REPLICATION_SERVER_ERROR', sqlState: '55006', transient: true });
      await expect(dropSlot(url, 'busy')).rejects.toMatchObject({ sqlState: '55006' });
    } finally {
      await stream.stop();
    }
    expect(await dropSlot(url, 'busy', { wait: true })).toBe(true);
  });

  it('fails with a non-transient error naming SQLSTATE 42704 when the publication does not exist', async () => {
    await (await createSlotWithSnapshot(url, 'nopub')).close();
    const stream = await ReplicationStream.start({ url, slot: 'nopub', publication: 'Missing' });
    await withClient(url, (c) => c.query('INSERT INTO t (writer) VALUES (9)'));
    const error = await readTransactions(stream, () => false).catch((e) => e);
    expect(error).toMatchObject({
      code: 'REPLICATION_SERVER_ERROR',
      sqlState: '42704',
      transient: false,
      details: { slot: 'nopub' },
    });
    await expect(ReplicationStream.start({ url, slot: 'nopub', publication: [] })).rejects.toMatchObject({
      code: 'REPLICATION_PUBLICATION_REQUIRED',
      transient: false,
    });
  });

  it('identifies the system', async () => {
    const id = await identifySystem(url);
    expect(id.systemId).toMatch(/^\d+$/);
    expect(id.timeline).toBe(1);
    expect(id.dbName).toBe('postgres');
    expect(id.xlogPos).toBeGreaterThan(0n);
  });
});
