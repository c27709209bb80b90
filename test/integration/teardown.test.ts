import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { startSync } from '../../src/sync/index.js';
import { runCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { provisionMigration, runCopy } from '../support/copy-fixture.js';

/** `carve teardown`: what carve left on the monolith goes, only when asked, never under a running sync. */
let source: LocalCluster;
let target: LocalCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([
    useCluster({ name: 'teardown-src' }),
    useCluster({ name: 'teardown-dst' }),
  ]);
});

async function leftovers(url: string) {
  return withClient(url, async (c) => ({
    slots: (await c.query(`SELECT slot_name FROM pg_replication_slots`)).rows.map((r) => r.slot_name),
    publications: (await c.query(`SELECT pubname FROM pg_publication`)).rows.map((r) => r.pubname),
  }));
}

describe('carve teardown', () => {
  it('asks for --yes, refuses while sync runs, then drops the slot and publication, idempotently', async () => {
    const url = await createDatabase(source, 'mono');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
               INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;`),
    );
    const planText = stringify({
      name: 'gone',
      source: url,
      target: target.url(),
      services: { s: { database: 'gone_s', tables: { items: {} } } },
    });
    const file = join(mkdtempSync(join(tmpdir(), 'carve-teardown-')), 'plan.yaml');
    writeFileSync(file, planText);
    const { routing } = await provisionMigration(url, planText);
    expect((await runCopy(routing)).complete).toBe(true);
    const carveObjects = { slots: ['carve_gone'], publications: ['carve_gone'] };
    expect(await leftovers(url)).toEqual(carveObjects);

    const unasked = await runCarve(['teardown', '--plan', file]);
    expect(unasked.code).toBe(2);
    expect(unasked.stderr).toMatch(/would drop replication slot carve_gone .* and publication carve_gone/);
    expect(await leftovers(url)).toEqual(carveObjects);

    // The sync step as carve migrate runs it: the refusal names carve migrate, not carve sync.
    const engine = await startSync({ routing, applicationName: 'carve migrate (gone)' });
    try {
      const busy = await runCarve(['teardown', '--plan', file, '--yes']);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(
        /MIGRATION_LOCKED: .* is being worked on by carve migrate \(gone\) \(backend pid \d+\)/,
      );
      const json = await runCarve(['teardown', '--plan', file, '--yes', '--json']);
      expect(JSON.parse(json.stdout).details.holder).toMatchObject({
        command: 'sync',
        application: 'carve migrate (gone)',
      });
      expect(await leftovers(url)).toEqual(carveObjects);
    } finally {
      await engine.stop();
    }

    const done = await runCarve(['teardown', '--plan', file, '--yes', '--json']);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ slotDropped: true, publicationDropped: true });
    expect(await leftovers(url)).toEqual({ slots: [], publications: [] });

    const again = await runCarve(['teardown', '--plan', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing of this migration is left');
    const sync = await runCarve(['sync', '--plan', file, '--until-caught-up']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('SYNC_SLOT_MISSING');
  });
});
