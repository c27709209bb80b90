import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { dropPublication, ensurePublication, publishedTables } from '../../src/pg/replication/publication.js';
import { ReplicationStream } from '../../src/pg/replication/replication-stream.js';
import { createSlotWithSnapshot } from '../../src/pg/replication/slot.js';
import { UNCHANGED_TOAST, type UpdateMessage } from '../../src/sync/pgoutput/index.js';
import { readTransactions } from '../fixtures/pgoutput/stream-reader.js';
import { useCluster } from '../support/cluster.js';

/** Live checks of what the stream delivers for the table shapes carve must handle. */
const pg = await useCluster({ name: 'repl-pgoutput' });
const url = pg.url();
const PUB = `pub "q" 'it's\\ a,b`; // quote, apostrophe, backslash, comma, space
await withClient(url, async (c) => {
  await c.query(`
    CREATE TABLE public.measurements (id bigint, taken date, value numeric, PRIMARY KEY (id, taken)) PARTITION BY RANGE (taken);
    CREATE TABLE public.measurements_a PARTITION OF public.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE public.measurements_b PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    CREATE TABLE public.notes (author text, body text);
    ALTER TABLE public.notes REPLICA IDENTITY FULL;
    CREATE TABLE public.documents (id int PRIMARY KEY, title text, content jsonb);`);
  await ensurePublication(c, PUB, [
    { schema: 'public', name: 'measurements' },
    { schema: 'public', name: 'notes' },
    { schema: 'public', name: 'documents' },
  ]);
});

async function streamOf(slot: string): Promise<ReplicationStream> {
  await (await createSlotWithSnapshot(url, slot)).close();
  return ReplicationStream.start({ url, slot, publication: PUB, messages: true });
}

describe('pgoutput over a live stream', () => {
  it('manages the publication: created with publish_via_partition_root, altered to add and drop tables, dropped', async () => {
    await withClient(url, async (c) => {
      expect(await publishedTables(c, PUB)).toEqual([
        { schema: 'public', name: 'documents' },
        { schema: 'public', name: 'measurements' },
        { schema: 'public', name: 'notes' },
      ]);
      expect(
        (await c.query('SELECT pubviaroot FROM pg_publication WHERE pubname = $1', [PUB])).rows[0].pubviaroot,
      ).toBe(true);
      await c.query(`CREATE TABLE public."Odd ""name"""(id int PRIMARY KEY)`);
      await c.query(
        `CREATE PUBLICATION other FOR TABLE public.notes WITH (publish_via_partition_root = false, publish = 'insert')`,
      );
      const changed = await ensurePublication(c, 'other', [
        { schema: 'public', name: 'Odd "name"' },
        { schema: 'public', name: 'Odd "name"' },
      ]);
      expect(changed).toEqual({
        created: false,
        added: [{ schema: 'public', name: 'Odd "name"' }],
        removed: [{ schema: 'public', name: 'notes' }],
        optionsChanged: true,
      });
      expect(await ensurePublication(c, 'other', [{ schema: 'public', name: 'Odd "name"' }])).toEqual({
        created: false,
        added: [],
        removed: [],
        optionsChanged: false,
      });
      const pub = (
        await c.query('SELECT pubviaroot, pubupdate, pubtruncate FROM pg_publication WHERE pubname = $1', [
          'other',
        ])
      ).rows[0];
      expect(pub).toEqual({ pubviaroot: true, pubupdate: true, pubtruncate: true });
      await c.query('CREATE PUBLICATION everything FOR ALL TABLES');
      const forAll = await ensurePublication(c, 'everything', []).catch((e: unknown) => e);
      expect(forAll).toMatchObject({ code: 'PUBLICATION_FOR_ALL_TABLES' });
      // The hint's second way: drop this publication; carve then creates its own under the name.
      expect((forAll as { hint: string }).hint).toContain('or drop this publication');
      await c.query('DROP PUBLICATION everything');
      expect(await ensurePublication(c, 'everything', [])).toMatchObject({ created: true });
      expect(await dropPublication(c, 'everything')).toBe(true);
      expect(await dropPublication(c, 'other')).toBe(true);
      expect(await dropPublication(c, 'other')).toBe(false);
    });
  });

  it('delivers partition changes as the partitioned root', async () => {
    const stream = await streamOf('partitions');
    await withClient(url, (c) =>
      c.query(`INSERT INTO measurements VALUES (1, '2025-03-01', 1.5), (2, '2026-03-01', 2.5)`),
    );
    const [tx] = await readTransactions(stream, (txs) => txs.length === 1);
    expect(tx!.changes.map((c) => [c.table, c.message.tag])).toEqual([
      ['measurements', 'insert'],
      ['measurements', 'insert'],
    ]);
    await stream.stop();
  });

  it('gives full old rows for a REPLICA IDENTITY FULL table', async () => {
    const stream = await streamOf('full_identity');
    await withClient(url, async (c) => {
      await c.query(`INSERT INTO notes VALUES ('ann', 'first'), ('bob', NULL)`);
      await c.query(`UPDATE notes SET body = 'second' WHERE author = 'ann'`);
      await c.query(`DELETE FROM notes WHERE author = 'bob'`);
    });
    const txs = await readTransactions(stream, (t) => t.length === 3);
    expect(txs[1]!.changes[0]!.message).toMatchObject({
      tag: 'update',
      oldKind: 'full',
      oldTuple: ['ann', 'first'],
      newTuple: ['ann', 'second'],
    });
    expect(txs[2]!.changes[0]!.message).toMatchObject({
      tag: 'delete',
      oldKind: 'full',
      oldTuple: ['bob', null],
    });
    await stream.stop();
  });

  it("marks a large TOASTed jsonb value the UPDATE did not touch as unchanged ('u'), not null", async () => {
    const stream = await streamOf('toast');
    await withClient(url, async (c) => {
      // ~200 kB of varied JSON: compressed, still far beyond the 2 kB TOAST threshold.
      await c.query(
        `INSERT INTO documents SELECT 1, 'v1', jsonb_agg(jsonb_build_object('k', i, 'h', md5(i::text))) FROM generate_series(1, 3000) AS i`,
      );
      await c.query(`UPDATE documents SET title = 'v2' WHERE id = 1`);
      await c.query(`UPDATE documents SET content = '{"small": true}' WHERE id = 1`);
    });
    const txs = await readTransactions(stream, (t) => t.length === 3);
    const insert = txs[0]!.changes[0]!.message;
    expect(insert.tag === 'insert' && (insert.newTuple[2] as string).length).toBeGreaterThan(100_000);
    const titleOnly = txs[1]!.changes[0]!.message as UpdateMessage;
    expect(titleOnly.newTuple).toEqual(['1', 'v2', UNCHANGED_TOAST]);
    const contentChanged = txs[2]!.changes[0]!.message as UpdateMessage;
    expect(contentChanged.newTuple).toEqual(['1', 'v2', '{"small": true}']);
    await stream.stop();
  });

  it('keeps memory bounded for a slow reader: the socket pauses at maxBufferedBytes', async () => {
    await (await createSlotWithSnapshot(url, 'slow')).close();
    await withClient(url, (c) =>
      c.query(`INSERT INTO notes SELECT 'bulk', repeat('z', 500) FROM generate_series(1, 20000)`),
    );
    const stream = await ReplicationStream.start({
      url,
      slot: 'slow',
      publication: PUB,
      maxBufferedBytes: 256 * 1024,
    });
    let peak = 0;
    let inserts = 0;
    let pauses = 0;
    while (inserts < 20000) {
      const batch = (await stream.readBatch(64))!;
      peak = Math.max(peak, stream.buffered.bytes);
      if (stream.buffered.paused) pauses++;
      inserts += batch.filter((m) => m.kind === 'xlogdata' && m.payload[0] === 0x49).length;
      await new Promise((resolve) => setImmediate(resolve)); // a reader slower than the socket
    }
    expect(pauses).toBeGreaterThan(0);
    // At most the limit plus what one socket read (≤ 64 kB) delivers at once, plus per-message overhead.
    expect(peak).toBeLessThan(256 * 1024 + 64 * 1024 + 64 * 1024);
    await stream.stop();
  });

  it('stops when a for-await loop is left early, and then reads nothing more', async () => {
    const stream = await streamOf('early_exit');
    await withClient(url, (c) => c.query(`INSERT INTO notes VALUES ('x', 'y')`));
    for await (const message of stream) {
      if (message.kind === 'xlogdata') break;
    }
    expect(stream.state).toBe('stopped');
    expect(await stream.closed).toEqual({ reason: 'stopped' });
    expect(await stream.read()).toBeNull();
    expect(await stream.readBatch()).toBeNull();
  });
});
