import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { copyChunk, type ChunkRead, type ChunkSink } from '../../src/copy/chunk-copier.js';
import { connect, withClient, type Client } from '../../src/pg/connect.js';
import { CopyLog } from '../../src/state/copy-log.js';
import { ensureStateSchema } from '../../src/state/state-schema.js';
import { createDatabase, useCluster } from '../support/cluster.js';

const HOSTILE = 'x"; drop table y; --';

let cluster: LocalCluster;
let sourceUrl: string;
let targetUrl: string;

async function snapshotSession(
  url: string,
): Promise<{ reader: Client; snapshot: string; close(): Promise<void> }> {
  const holder = await connect(url);
  await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  const snapshot = (await holder.query('SELECT pg_export_snapshot() AS s')).rows[0].s as string;
  const reader = await connect(url);
  await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await reader.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
  return {
    reader,
    snapshot,
    async close() {
      await reader.query('COMMIT');
      await reader.end();
      await holder.query('COMMIT');
      await holder.end();
    },
  };
}

async function rows(url: string, sql: string): Promise<unknown[]> {
  return withClient(url, async (c) => (await c.query(sql)).rows);
}

beforeAll(async () => {
  cluster = await useCluster({ name: 'chunk-copier' });
  sourceUrl = await createDatabase(cluster, 'mono');
  targetUrl = await createDatabase(cluster, 'svc');
  await withClient(sourceUrl, (c) =>
    c.query(`
      CREATE TYPE mood AS ENUM ('calm', 'loud');
      CREATE TABLE "${HOSTILE.replaceAll('"', '""')}" (
        id bigint PRIMARY KEY, name text, note text, mood mood, moods mood[], payload jsonb, blob bytea
      );
      INSERT INTO "${HOSTILE.replaceAll('"', '""')}"
        SELECT g, 'name ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('n', g % 50) END,
               (ARRAY['calm','loud'])[1 + g % 2]::mood, ARRAY['calm','loud']::mood[],
               jsonb_build_object('g', g), decode(md5(g::text), 'hex')
          FROM generate_series(1, 5000) g;`),
  );
  await withClient(targetUrl, async (c) => {
    await c.query(`
      CREATE TYPE mood AS ENUM ('calm', 'loud');
      CREATE TABLE owned (id bigint PRIMARY KEY, name text, note text, mood mood, moods mood[], payload jsonb, blob bytea);
      CREATE TABLE proj (ident bigint PRIMARY KEY, label text);
      CREATE TABLE strict_proj (ident bigint PRIMARY KEY, label text CHECK (label <> 'name 4321'));`);
    await ensureStateSchema(c, 'carve');
  });
});

describe('copyChunk', () => {
  const columns = ['id', 'name', 'note', 'mood', 'moods', 'payload', 'blob'];

  async function sinks(log: CopyLog, names: ('owned' | 'proj' | 'strict_proj')[], chunkNo: number) {
    const list: ChunkSink[] = [];
    for (const name of names) {
      const client = await connect(targetUrl);
      await log.planRoute(client, name, [
        {
          chunkNo,
          source: { schema: 'public', name: HOSTILE },
          method: 'key',
          lower: null,
          upper: null,
          estimatedBytes: 0,
        },
      ]);
      list.push(
        name === 'owned'
          ? {
              routeId: name,
              chunkNo,
              target: { schema: 'public', name },
              targetColumns: columns,
              fields: null,
              client,
              log,
            }
          : {
              routeId: name,
              chunkNo,
              target: { schema: 'public', name },
              targetColumns: ['label', 'ident'],
              fields: [1, 0],
              client,
              log,
            },
      );
    }
    return list;
  }

  it('feeds the owner and a projection from one read, in text format for enum arrays, and marks each chunk done once', async () => {
    const log = new CopyLog('carve', 'm1');
    const session = await snapshotSession(sourceUrl);
    // A write after the snapshot must not be copied.
    await withClient(sourceUrl, (c) =>
      c.query(`INSERT INTO "${HOSTILE.replaceAll('"', '""')}" (id, name) VALUES (999999, 'late')`),
    );
    const read: ChunkRead = {
      relation: { schema: 'public', name: HOSTILE },
      method: 'key',
      lower: '100',
      upper: null,
      keyColumn: 'id',
      columns,
      format: 'text',
    };
    const targets = await sinks(log, ['owned', 'proj'], 0);
    const outcomes = await copyChunk(session.reader, read, targets, { snapshot: session.snapshot });
    expect(outcomes.map((o) => [o.sink.routeId, o.status, o.rows])).toEqual([
      ['owned', 'done', 4901],
      ['proj', 'done', 4901],
    ]);
    expect(
      await rows(targetUrl, 'SELECT count(*)::int AS n, min(id)::int AS lo, max(id)::int AS hi FROM owned'),
    ).toEqual([{ n: 4901, lo: 100, hi: 5000 }]);
    const [source] = (await rows(
      sourceUrl,
      `SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM (SELECT ${columns.join(',')} FROM "${HOSTILE.replaceAll('"', '""')}" WHERE id >= 100 AND id <= 5000) t`,
    )) as { h: string }[];
    const [target] = (await rows(
      targetUrl,
      `SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM owned t`,
    )) as { h: string }[];
    expect(target!.h).toBe(source!.h);
    expect(await rows(targetUrl, 'SELECT ident::int, label FROM proj WHERE ident = 4321')).toEqual([
      { ident: 4321, label: 'name 4321' },
    ]);

    // The same chunk again: nothing is copied twice.
    const again = await copyChunk(session.reader, read, targets, { snapshot: session.snapshot });
    expect(again.map((o) => o.status)).toEqual(['already-done', 'already-done']);
    expect(await rows(targetUrl, 'SELECT count(*)::int AS n FROM proj')).toEqual([{ n: 4901 }]);
    const chunks = await withClient(targetUrl, (c) => log.chunks(c));
    expect(chunks.map((c) => [c.routeId, c.status, c.rows])).toEqual([
      ['owned', 'done', 4901],
      ['proj', 'done', 4901],
    ]);
    await session.close();
    for (const s of targets) await s.client.end();
  });

  it('a failing sink rolls back alone and is logged with its SQLSTATE; the other sink commits', async () => {
    const log = new CopyLog('carve', 'm2');
    await withClient(targetUrl, (c) => c.query('TRUNCATE owned, proj'));
    const session = await snapshotSession(sourceUrl);
    const read: ChunkRead = {
      relation: { schema: 'public', name: HOSTILE },
      method: 'ctid',
      lower: null,
      upper: null,
      columns: ['id', 'name'],
      format: 'binary',
    };
    const targets = await sinks(log, ['proj', 'strict_proj'], 3);
    const outcomes = await copyChunk(session.reader, read, targets, { snapshot: session.snapshot });
    expect(outcomes.map((o) => [o.sink.routeId, o.status])).toEqual([
      ['proj', 'done'],
      ['strict_proj', 'failed'],
    ]);
    expect(await rows(targetUrl, 'SELECT count(*)::int AS n FROM strict_proj')).toEqual([{ n: 0 }]);
    const logged = await withClient(targetUrl, (c) => log.chunks(c));
    expect(logged.find((c) => c.routeId === 'strict_proj')).toMatchObject({
      status: 'failed',
      sqlstate: '23514',
      chunkNo: 3,
    });
    // The target connection is usable afterwards.
    expect((await targets[1]!.client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await session.close();
    for (const s of targets) await s.client.end();
  });

  it('a failing read fails every sink and leaves nothing behind', async () => {
    const log = new CopyLog('carve', 'm3');
    await withClient(targetUrl, (c) => c.query('TRUNCATE owned, proj'));
    const session = await snapshotSession(sourceUrl);
    const read: ChunkRead = {
      relation: { schema: 'public', name: 'no such table' },
      method: 'all',
      lower: null,
      upper: null,
      columns: columns,
      format: 'binary',
    };
    const targets = await sinks(log, ['owned', 'proj'], 0);
    const outcomes = await copyChunk(session.reader, read, targets, { snapshot: session.snapshot });
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed']);
    expect(
      await rows(
        targetUrl,
        'SELECT (SELECT count(*) FROM owned)::int AS a, (SELECT count(*) FROM proj)::int AS b',
      ),
    ).toEqual([{ a: 0, b: 0 }]);
    for (const s of targets) await s.client.end();
    await session.reader.end().catch(() => {});
  });
});
