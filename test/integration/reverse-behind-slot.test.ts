import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/connect.js';
import { prepareReverse, startReverseSync, waitReverseApplied } from '../../src/reverse/index.js';
import { startSync } from '../../src/sync/index.js';
import { replicationOriginName } from '../../src/sync/replication-origin.js';
import { runCarve, runCarveUntilExit, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { jsonError } from '../support/cli-errors.js';
import { waitFor } from '../support/cluster.js';
import { prepareMigration, runCopy, useMigrationClusters, type Migration } from '../support/migration.js';

/**
 * The monolith restored from an older backup while a service's reverse stream runs: its rows and
 * its recorded reverse position go back, the service database's slot does not. The stream would
 * resume at the slot and the service's commits in between would never reach the monolith. carve
 * sync must refuse (REVERSE_TARGET_BEHIND_SLOT), and its hint — carve recover, then carve sync —
 * followed literally must leave the monolith equal to the service database, later writes included.
 */
const MONOLITH = `
CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL, qty int);
INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g;
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g;
`;
const PLAN = `
services:
  shop:
    database: rb_shop
    tables: { items: {} }
  desk:
    database: rb_desk
    tables: { notes: {} }
`;

let m: Migration;
let planFile: string;
let shopDb: string;

beforeAll(async () => {
  const clusters = await useMigrationClusters('revbehind');
  m = await prepareMigration(clusters, { name: 'rb', monolithSql: MONOLITH, planBody: PLAN });
  await runCopy(m.routing);
  shopDb = m.target.url('rb_shop');
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-rev-behind-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
}, 120_000);

async function hash(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '-') AS h FROM items t`,
    );
    return rows[0].h as string;
  });
}

async function serviceLsn(): Promise<bigint> {
  const { parseLsn } = await import('../../src/pg/lsn.js');
  return withClient(shopDb, async (c) =>
    parseLsn((await c.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l as string),
  );
}

async function succeeds(args: string[]): Promise<CliRun> {
  const run = await runCarve(args);
  expect(run.code, `carve ${args.join(' ')}\n${run.stdout.slice(-3000)}\n${run.stderr}`).toBe(0);
  return run;
}

describe('a reverse stream into a monolith restored from an older backup', () => {
  it('REVERSE_TARGET_BEHIND_SLOT; carve recover and carve sync as the hint says', async () => {
    const prepared = await prepareReverse(m.routing, 'shop');
    // The service writes; both streams carry everything into the monolith.
    await withClient(shopDb, (c) =>
      c.query(`INSERT INTO items SELECT g, 'new ' || g, g FROM generate_series(1001, 1060) g;
               UPDATE items SET label = label || ' (svc)' WHERE id <= 25;
               DELETE FROM items WHERE id BETWEEN 200 AND 210;`),
    );
    const forward = await startSync({ routing: m.routing });
    const reverse = await startReverseSync({ routing: m.routing });
    try {
      await waitReverseApplied(m.routing, 'shop', await serviceLsn(), 60_000);
      await forward.waitForCatchUp();
    } finally {
      await reverse.stop();
      await forward.stop();
    }
    expect(await hash(m.sourceUrl)).toBe(await hash(shopDb));
    const before = await hash(m.sourceUrl);

    // What a restore of a backup taken before those writes leaves on the monolith: the rows as they
    // were and the reverse position at its start. Written under the reverse origin, as carve's
    // reverse applier writes, so the forward stream does not carry the "restore" into the service.
    const origin = replicationOriginName('rb', 'rev', 'rb_shop');
    await withClient(m.sourceUrl, async (c) => {
      await c.query(`SELECT pg_replication_origin_session_setup($1)`, [origin]);
      await c.query('BEGIN');
      await c.query(`DELETE FROM items WHERE id > 1000`);
      await c.query(`UPDATE items SET label = 'item ' || id WHERE id <= 25`);
      await c.query(`INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(200, 210) g`);
      await c.query(
        `UPDATE ${m.routing.names.stateSchema}.reverse_positions SET lsn = $1::pg_lsn
          WHERE migration = 'rb' AND service = 'shop'`,
        [prepared.startLsn],
      );
      await c.query('COMMIT');
      await c.query(`SELECT pg_replication_origin_session_reset()`);
    });
    expect(await hash(m.sourceUrl)).not.toBe(before);
    const serviceRows = await hash(shopDb);
    expect(serviceRows).toBe(before); // the service database is untouched

    // More service writes after the "restore": they must reach the monolith in the end too.
    await withClient(shopDb, (c) => c.query(`UPDATE items SET qty = -qty WHERE id BETWEEN 50 AND 60`));

    const refused = await runCarveUntilExit(
      ['sync', '--plan', planFile, '--secrets-dir', m.secretsDir, '--json'],
      60_000,
    );
    const error = jsonError(refused);
    expect(error.code, error.message).toBe('REVERSE_TARGET_BEHIND_SLOT');
    expect(refused.code).toBe(1);
    expect(error.details).toMatchObject({
      service: 'shop',
      database: 'rb_shop',
      slot: prepared.slot,
      appliedLsn: prepared.startLsn,
    });
    // Nothing reached the monolith from the stream.
    expect(await hash(m.sourceUrl)).not.toBe(await hash(shopDb));

    // The hint, followed literally: carve recover, then carve sync.
    // (The CLI puts the plan file it was given in place of the hint's <file>.)
    const steps =
      /With no carve sync running, (carve recover --plan (\S+) --service shop --yes):.*then start (carve sync)\./.exec(
        error.hint,
      );
    expect(steps, error.hint).not.toBeNull();
    expect(steps![2]).toBe(planFile);
    const args = steps![1]!.split(' ').slice(1);
    await succeeds([...args, '--secrets-dir', m.secretsDir]);
    expect(await hash(m.sourceUrl)).toBe(await hash(shopDb));

    const sync = spawnCarve(['sync', '--plan', planFile, '--secrets-dir', m.secretsDir, '--json']);
    try {
      await withClient(shopDb, (c) =>
        c.query(`INSERT INTO items VALUES (5000, 'after recover', 1); DELETE FROM items WHERE id = 1;`),
      );
      await waitFor(async () => (await hash(m.sourceUrl)) === (await hash(shopDb)), {
        what: 'the monolith to equal the service database',
        timeoutMs: 45_000,
      });
      expect(sync.child.exitCode).toBeNull(); // not refused again
    } finally {
      sync.child.kill('SIGTERM');
      await sync.done;
    }
  }, 150_000);
});
