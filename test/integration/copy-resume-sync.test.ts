import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { CopyEvent } from '../../src/copy/events.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { startSync } from '../../src/sync/index.js';
import type { TargetLag } from '../../src/sync/events.js';
import { runCarve, seededRandom, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { provisionMigration, runCopy } from '../support/copy-fixture.js';
import { differingRoutes } from '../support/route-checksums.js';

/**
 * docs/copy.md claims: a copy resumed under a NEW snapshot (the old one died with its process),
 * followed by streaming from the slot's original consistent point, converges on the monolith.
 * These tests make the monolith change between the two snapshots in the ways that matter.
 */
let source: LocalCluster;
let target: LocalCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([
    useCluster({ name: 'resume-src' }),
    useCluster({ name: 'resume-dst' }),
  ]);
});

async function syncUntilCaughtUp(routing: Parameters<typeof startSync>[0]['routing']): Promise<TargetLag[]> {
  const engine = await startSync({ routing, untilCaughtUp: true });
  const result = await engine.done;
  expect(result.reason).toBe('caught-up');
  return engine.status();
}

describe('resume under a new snapshot, then stream', () => {
  it('restores a row whose key moved into an already-copied range while its TOASTed value stayed unchanged', async () => {
    const url = await createDatabase(source, 'moved');
    await withClient(url, (c) =>
      c.query(`
        CREATE TABLE docs (id bigint PRIMARY KEY, title text, body text);
        ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL; -- keep bodies out of line, uncompressed
        INSERT INTO docs SELECT g * 1000, 'doc ' || g, repeat(md5(g::text), 200) FROM generate_series(1, 400) g;
        ANALYZE docs;`),
    );
    const plan = stringify({
      name: 'moved',
      source: url,
      target: target.url(),
      services: { d: { database: 'moved_d', tables: { docs: {} } } },
    });
    const { routing } = await provisionMigration(url, plan);

    // Copy the first key range only (one worker takes chunks in key order), then stop.
    const controller = new AbortController();
    const events: CopyEvent[] = [];
    const partial = await runCopy(routing, {
      jobs: 1,
      chunkBytes: 512 * 1024,
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'chunk-done') controller.abort();
      },
    });
    expect(partial.complete).toBe(false);
    const done = events.find((e) => e.type === 'chunk-done');
    expect(done).toMatchObject({ chunkNo: 0 });
    const copied = await withClient(
      routing.services[0]!.url,
      async (c) => (await c.query('SELECT max(id)::bigint AS m, count(*)::int AS n FROM docs')).rows[0],
    );
    expect(copied.n).toBeGreaterThan(0);
    expect(copied.n).toBeLessThan(400);

    // The last row moves into the copied range (a free key there); its body is not touched, so
    // pgoutput sends it as "unchanged TOAST". Another copied row changes its body.
    await withClient(url, (c) =>
      c.query(
        `UPDATE docs SET id = 1500 WHERE id = 400000; UPDATE docs SET body = 'short now' WHERE id = 1000`,
      ),
    );

    const resumed = await runCopy(routing, { resume: true, jobs: 1, chunkBytes: 512 * 1024 });
    expect(resumed).toMatchObject({ complete: true, mode: 'resume' });
    // The moved row was copied in neither range; the resumed copy streams from the original
    // consistent point up to its own snapshot before finishing, and that brings it back whole
    // (its unchanged TOASTed body re-read from the monolith).
    const moved = await withClient(
      routing.services[0]!.url,
      async (c) =>
        (await c.query('SELECT id::int AS id, length(body)::int AS n FROM docs WHERE id IN (1500, 400000)'))
          .rows,
    );
    expect(moved).toEqual([{ id: 1500, n: 6400 }]);
    expect(await differingRoutes(routing)).toEqual([]);
    await syncUntilCaughtUp(routing);
    expect(await differingRoutes(routing)).toEqual([]);
  });

  it('finishes when a unique value and a referenced row change between the two snapshots', async () => {
    // Rows of one database then come from two moments. Without streaming up to the later snapshot
    // before the post-load step, the moved unique value is held twice (the unique key cannot be
    // built) and a copied child points to a parent deleted before the second snapshot.
    const url = await createDatabase(source, 'twice');
    await withClient(url, (c) =>
      c.query(`
        CREATE TABLE nodes (id bigint PRIMARY KEY, code text NOT NULL UNIQUE,
                            parent_id bigint REFERENCES nodes (id), body text);
        ALTER TABLE nodes ALTER COLUMN body SET STORAGE EXTERNAL;
        INSERT INTO nodes SELECT g, 'c' || g, NULL, repeat(md5(g::text), 200) FROM generate_series(1, 400) g;
        UPDATE nodes SET parent_id = 400 WHERE id = 2;
        ANALYZE nodes;`),
    );
    const plan = stringify({
      name: 'twice',
      source: url,
      target: target.url(),
      services: { n: { database: 'twice_n', tables: { nodes: {} } } },
    });
    const { routing } = await provisionMigration(url, plan);
    const controller = new AbortController();
    const partial = await runCopy(routing, {
      jobs: 1,
      chunkBytes: 512 * 1024,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'chunk-done') controller.abort();
      },
    });
    expect(partial.complete).toBe(false);
    const targetUrl = routing.services[0]!.url;
    const copied = await withClient(
      targetUrl,
      async (c) => (await c.query('SELECT array_agg(id ORDER BY id)::int8[] AS ids FROM nodes')).rows[0].ids,
    );
    // Rows 1 and 2 were copied under the first snapshot, 399 and 400 were not.
    expect(copied.map(Number)).toEqual(expect.arrayContaining([1, 2]));
    expect(copied.map(Number)).not.toEqual(expect.arrayContaining([399]));

    await withClient(url, (c) =>
      c.query(`UPDATE nodes SET code = 'moved' WHERE id = 1; UPDATE nodes SET code = 'c1' WHERE id = 399;
               DELETE FROM nodes WHERE id = 2; DELETE FROM nodes WHERE id = 400;`),
    );

    const events: CopyEvent[] = [];
    const resumed = await runCopy(routing, {
      resume: true,
      jobs: 1,
      chunkBytes: 512 * 1024,
      onEvent: (e) => events.push(e),
    });
    expect(resumed).toMatchObject({ complete: true, mode: 'resume' });
    expect(events.find((e) => e.type === 'catch-up-started')).toMatchObject({ databases: ['twice_n'] });
    expect(events.some((e) => e.type === 'catch-up-done')).toBe(true);
    const constraints = await withClient(
      targetUrl,
      async (c) =>
        (
          await c.query(
            `SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'public.nodes'::regclass AND contype IN ('u', 'f') ORDER BY 1`,
          )
        ).rows,
    );
    expect(constraints).toEqual([
      { conname: 'nodes_code_key', convalidated: true },
      { conname: 'nodes_parent_id_fkey', convalidated: true },
    ]);
    expect(await differingRoutes(routing)).toEqual([]);

    // Resuming again is a no-op, and the stream carries on from there.
    expect(await runCopy(routing, { resume: true })).toMatchObject({ mode: 'already-complete' });
    await withClient(url, (c) => c.query(`UPDATE nodes SET code = 'c1-again' WHERE id = 399`));
    await syncUntilCaughtUp(routing);
    expect(await differingRoutes(routing)).toEqual([]);
  });

  it('converges after kill -9 mid-copy with writes before, between and after the two copy runs', async () => {
    const url = await createDatabase(source, 'busy');
    await withClient(url, (c) =>
      c.query(`
        CREATE TABLE accounts (id bigint PRIMARY KEY, name text, balance numeric(12,2), note text);
        CREATE TABLE blobs (id uuid PRIMARY KEY, owner bigint, body text);
        CREATE TABLE pairs (a bigint, b int, v text, PRIMARY KEY (a, b));
        INSERT INTO accounts SELECT g, 'acc ' || g, g % 1000, repeat('x', g % 300) FROM generate_series(1, 20000) g;
        INSERT INTO blobs SELECT md5(g::text)::uuid, g % 20000, repeat(md5(g::text), 30 + g % 100) FROM generate_series(1, 2000) g;
        INSERT INTO pairs SELECT g / 4, g % 4, 'v' || g FROM generate_series(0, 15999) g;
        ANALYZE;`),
    );
    const planText = stringify({
      name: 'busy',
      source: url,
      target: target.url(),
      services: {
        a: { database: 'busy_a', tables: { accounts: {}, pairs: {} } },
        b: { database: 'busy_b', tables: { blobs: {} } },
      },
      projections: [{ from: 'accounts', to: 'b.account_balances', columns: ['id', 'balance'] }],
    });
    const { routing } = await provisionMigration(url, planText);
    const file = join(mkdtempSync(join(tmpdir(), 'carve-busy-')), 'plan.yaml');
    writeFileSync(file, planText);

    // A small write mix on its own connection: updates (moving rows between blocks), key updates,
    // inserts, deletes, TOAST updates. Runs for the whole test.
    const random = seededRandom(7);
    const writer = await connect(url);
    let stop = false;
    let writes = 0;
    const load = (async () => {
      let nextId = 100000;
      while (!stop) {
        const r = random();
        const id = 1 + Math.floor(random() * 20000);
        if (r < 0.3)
          await writer.query('UPDATE accounts SET balance = balance + 1, note = note || $2 WHERE id = $1', [
            id,
            'u',
          ]);
        else if (r < 0.45)
          await writer.query('INSERT INTO accounts VALUES ($1, $2, 0, NULL)', [nextId++, 'new']);
        else if (r < 0.55) await writer.query('DELETE FROM accounts WHERE id = $1', [id]);
        else if (r < 0.7)
          await writer.query('UPDATE blobs SET owner = owner + 1 WHERE owner = $1', [id % 20000]);
        else if (r < 0.8)
          await writer.query(`UPDATE blobs SET body = body || 'more' WHERE owner = $1`, [id % 20000]);
        else if (r < 0.9)
          await writer.query('UPDATE pairs SET b = b + 10 WHERE a = $1 AND b = $2', [id % 4000, id % 4]);
        else await writer.query('UPDATE accounts SET id = $2 WHERE id = $1', [id, nextId++]);
        writes++;
      }
    })();

    try {
      const { child, done } = spawnCarve([
        'copy',
        '--plan',
        file,
        '--json',
        '--chunk-size',
        '0.05',
        '--jobs',
        '2',
      ]);
      let chunksDone = 0;
      child.stdout!.on('data', (d: Buffer) => {
        chunksDone += (d.toString().match(/"type":"chunk-done"/g) ?? []).length;
        if (chunksDone >= 6) child.kill('SIGKILL');
      });
      const killed = await done;
      expect(killed.signal).toBe('SIGKILL');
      const resumed = await runCarve(['copy', '--plan', file, '--json', '--resume']);
      expect(resumed.code, resumed.stderr).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 500)); // writes after the resumed copy too
    } finally {
      stop = true;
      await load;
      await writer.end();
    }
    expect(writes).toBeGreaterThan(50);
    await syncUntilCaughtUp(routing);
    expect(await differingRoutes(routing)).toEqual([]);
  });
});
