import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { connect, withClient, type Client } from '../../src/pg/connect.js';
import { runCarve, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { useMigrationClusters } from '../support/migration.js';
import { useNats } from '../support/nats.js';
import { expectError, fails, succeeds, useLeftovers } from '../support/cli-errors.js';

/**
 * The sync / copy / verify / resync error codes an operator can meet, each triggered through the
 * CLI and its hint then followed literally: the command (or the one the hint names) succeeds
 * afterwards and carve verify finds the databases equal. One pair of clusters; the steps build on
 * each other, so they run in order.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
let planFile: string;
const work = mkdtempSync(join(tmpdir(), 'carve-error-hints-sync-'));
const secretsDir = join(work, 'secrets');
const cli = (...args: string[]) => [...args, '--plan', planFile, '--secrets-dir', secretsDir];

beforeAll(async () => {
  ({ source, target } = await useMigrationClusters('hints-sync'));
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) =>
    c.query(`CREATE TABLE customers (id bigint PRIMARY KEY, name text);
             INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 50) g;
             CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers, qty int);
             INSERT INTO orders SELECT g, 1 + g % 50, g FROM generate_series(1, 200) g;
             CREATE TABLE items (id bigint PRIMARY KEY, label text, qty int);
             INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g;`),
  );
  planFile = join(work, 'plan.yaml');
  writeFileSync(
    planFile,
    stringify({
      name: 'hsync',
      source: sourceUrl,
      target: target.url(),
      services: {
        crm: { database: 'hsync_crm', tables: { customers: {} } },
        shop: { database: 'hsync_shop', tables: { orders: {}, items: {} } },
      },
    }),
  );
});

/** Processes and sessions a failed test left running: ended, so the next tests can go on. */
const leftovers = useLeftovers();
const sessions: Client[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.end().catch(() => {})));
});

/** Sessions of `database` on `cluster` whose application_name is `app`, waiting for a lock. */
async function waitingOnLock(cluster: LocalCluster, database: string, app: string): Promise<number[]> {
  return withClient(cluster.url(), async (c) => {
    const { rows } = await c.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2 AND wait_event_type = 'Lock'`,
      [database, app],
    );
    return rows.map((r) => r.pid as number);
  });
}

describe('sync, copy, verify and resync hints, followed literally', () => {
  it('VERIFY_NO_POSITION (provisioned, not copied): carve copy first, then verify passes', async () => {
    await succeeds(cli('provision'));
    const error = await fails(cli('verify'), 'VERIFY_NO_POSITION', 1);
    expect(error.hint).toContain('Run carve copy first');
    await succeeds(cli('copy'));
    await succeeds(cli('verify'));
  });

  it('SYNC_ORIGIN_LIMIT (the target has one replication state slot for two databases): raise max_replication_slots, restart, sync', async () => {
    const before = await withClient(
      target.url(),
      async (c) => (await c.query('SHOW max_replication_slots')).rows[0].max_replication_slots as string,
    );
    expect(Number(before)).toBeGreaterThanOrEqual(2);
    await withClient(target.url(), (c) => c.query('ALTER SYSTEM SET max_replication_slots = 1'));
    await target.restart();
    await withClient(sourceUrl, (c) => c.query('UPDATE items SET qty = qty + 1 WHERE id <= 10'));
    const error = await fails(cli('sync', '--until-caught-up'), 'SYNC_ORIGIN_LIMIT', 1);
    expect(error.hint).toContain('Raise max_replication_slots on that server');
    expect(error.hint).toContain('restart needed');
    // The hint, followed: max_replication_slots raised on the target's server, which restarts.
    await withClient(target.url(), (c) => c.query(`ALTER SYSTEM SET max_replication_slots = ${before}`));
    await target.restart();
    await succeeds(cli('sync', '--until-caught-up'));
    await succeeds(cli('verify'));
  });

  it('VERIFY_TABLE_MISSING of a cut foreign key’s parent column: the resync the hint names', async () => {
    // orders (shop) references customers (crm): the key is cut, and verify checks it across.
    await withClient(target.url('hsync_crm'), (c) => c.query('ALTER TABLE customers DROP COLUMN id'));
    const error = await fails(cli('verify', '--tables', 'orders'), 'VERIFY_TABLE_MISSING', 1);
    expect(error.hint).not.toContain('provision');
    const table = /carve resync --plan \S+ --table (\S+?),/.exec(error.hint)?.[1];
    expect(table, error.hint).toBe('public.customers');
    await succeeds(cli('resync', '--table', table!));
    await succeeds(cli('verify'));
  });

  it('RESYNC_COPY_FAILED (a DBA cancels it midway): the resync the hint names, again', async () => {
    // One row per chunk; after the first, a session locks the holds table that each merge locks,
    // and a DBA cancels the merge waiting there (pg_cancel_backend, as on any long query).
    const resync = spawnCarve([...cli('resync', '--table', 'items', '--chunk-rows', '1'), '--json']);
    leftovers.push(resync.child);
    let out = '';
    resync.child.stdout!.on('data', (d: Buffer) => (out += d));
    await waitFor(() => out.includes('"type":"resync-chunk"'), { what: 'the first chunk' });
    const blocker = await connect(target.url('hsync_shop'));
    sessions.push(blocker);
    const holds = (
      await blocker.query(
        `SELECT format('%I.%I', relnamespace::regnamespace, relname) AS t FROM pg_class WHERE relname = 'holds'`,
      )
    ).rows[0].t as string;
    await blocker.query(`BEGIN; LOCK TABLE ${holds} IN EXCLUSIVE MODE`);
    let merge: number[] = [];
    await waitFor(
      async () => (merge = await waitingOnLock(target, 'hsync_shop', 'carve resync copy')).length > 0,
      {
        what: 'a merge to wait on the holds table',
      },
    );
    await withClient(target.url(), (c) => c.query('SELECT pg_cancel_backend($1)', [merge[0]]));
    const run = await resync.done;
    const error = expectError(run, 'RESYNC_COPY_FAILED', 1);
    await blocker.query('ROLLBACK');
    expect(error.message).toContain('canceling statement due to user request');
    const again = /carve resync --plan (\S+) --table (\S+) again/.exec(error.hint);
    expect(again?.[1], error.hint).toBe(planFile);
    await succeeds(['resync', '--plan', again![1]!, '--table', again![2]!, '--secrets-dir', secretsDir]);
    await succeeds(cli('verify'));
  });
});

describe('a copy whose slot is gone', () => {
  it('COPY_SLOT_LOST: teardown, drop the service databases, migrate, as the hint says', async () => {
    const url = await createDatabase(source, 'mono_lost');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE a (id bigint PRIMARY KEY, v int);
               INSERT INTO a SELECT g, g FROM generate_series(1, 200) g;
               CREATE TABLE b (id bigint PRIMARY KEY, v int);
               INSERT INTO b SELECT g, g FROM generate_series(1, 200) g;`),
    );
    const plan = join(work, 'lost-plan.yaml');
    writeFileSync(
      plan,
      stringify({
        name: 'lost',
        source: url,
        target: target.url(),
        services: { s: { database: 'lost_s', tables: { a: {}, b: {} } } },
      }),
    );
    const lost = (...args: string[]) => [
      ...args,
      '--plan',
      plan,
      '--secrets-dir',
      join(work, 'lost-secrets'),
    ];
    await succeeds(lost('provision'));
    // The copy waits on a lock someone holds on one service table, and is killed there.
    const blocker = await connect(target.url('lost_s'));
    sessions.push(blocker);
    await blocker.query('BEGIN; LOCK TABLE b IN SHARE MODE');
    const copy = spawnCarve(lost('copy'));
    leftovers.push(copy.child);
    await waitFor(async () => (await waitingOnLock(target, 'lost_s', '%')).length > 0, {
      what: 'the copy to wait on the locked table',
    });
    copy.child.kill('SIGKILL');
    await copy.done;
    await blocker.end();
    // Someone drops the copy's slot on the monolith (its walsender may take a moment to exit).
    await waitFor(
      () =>
        withClient(url, async (c) => {
          const { rows } = await c.query(
            `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
              WHERE slot_name = 'carve_lost' AND NOT active`,
          );
          return rows.length > 0;
        }),
      { what: 'the slot to be dropped' },
    );
    const error = await fails(lost('copy', '--resume'), 'COPY_SLOT_LOST', 1);
    // The hint, followed step by step.
    const steps =
      /(carve teardown --plan (\S+) --yes).*drop the service databases \(([^)]+)\), then (carve migrate --plan (\S+?))\.?(?:\s|$)/.exec(
        error.hint,
      );
    expect(steps, error.hint).not.toBeNull();
    // The hints name the plan carve was given.
    expect([steps![2], steps![5]]).toEqual([plan, plan]);
    await succeeds(['teardown', '--plan', plan, '--yes']);
    for (const database of steps![3]!.split(', ')) {
      await withClient(target.url(), (c) => c.query(`DROP DATABASE "${database}" WITH (FORCE)`));
    }
    await succeeds(lost('migrate'));
    await succeeds(lost('verify'));
  }, 60_000);
});

/** `carve sync` of the main plan, running once its stream is active on the monolith. */
async function startSync(): Promise<ReturnType<typeof spawnCarve>> {
  const sync = spawnCarve(cli('sync'));
  leftovers.push(sync.child);
  await waitFor(
    () =>
      withClient(
        sourceUrl,
        async (c) =>
          (await c.query(`SELECT active FROM pg_replication_slots WHERE slot_name = 'carve_hsync'`)).rows[0]
            ?.active === true,
      ),
    { what: 'carve sync to stream' },
  );
  return sync;
}

/** carve status shows every service database less than a second behind. */
async function caughtUp(): Promise<boolean> {
  const run = await runCarve(cli('status', '--json'));
  const status = JSON.parse(run.stdout) as { sync?: { targets?: { lagSeconds: number | null }[] } };
  const targets = status.sync?.targets;
  return !!targets?.length && targets.every((t) => t.lagSeconds !== null && t.lagSeconds < 1);
}

async function stopSync(sync: ReturnType<typeof spawnCarve>): Promise<void> {
  sync.child.kill('SIGINT');
  const run = await sync.done;
  expect(run.code, run.stderr).toBe(0);
}

/** A session on the monolith in a transaction with an id, left open (what a slot snapshot waits for). */
async function longTransaction(): Promise<{ client: Client; pid: number }> {
  const client = await connect(sourceUrl);
  sessions.push(client);
  await client.query('BEGIN');
  const pid = (await client.query('SELECT pg_backend_pid() AS pid, txid_current()')).rows[0].pid as number;
  return { client, pid };
}

describe('waits for a consistent read, bounded and named', () => {
  it('SYNC_HOLD_TIMEOUT (the running carve sync is suspended): continue it as the hint says, verify again', async () => {
    const sync = await startSync();
    sync.child.kill('SIGSTOP');
    const error = await fails(cli('verify', '--hold-timeout', '3s'), 'SYNC_HOLD_TIMEOUT', 1);
    expect(error.hint).toContain('kill -CONT');
    expect(error.hint).toContain('run verify again');
    sync.child.kill('SIGCONT');
    await succeeds(cli('verify', '--hold-timeout', '30s'));
    await stopSync(sync);
  });

  it('VERIFY_HOLD_TIMEOUT (verify --catch-up, its applier waits for a lock): end the transaction it names, verify again', async () => {
    await withClient(sourceUrl, (c) => c.query('UPDATE items SET qty = qty + 1 WHERE id <= 5'));
    const blocker = await connect(target.url('hsync_shop'));
    sessions.push(blocker);
    await blocker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
    const blockerPid = (await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const error = await fails(cli('verify', '--catch-up', '--hold-timeout', '3s'), 'VERIFY_HOLD_TIMEOUT', 1);
    const terminate = /SELECT pg_terminate_backend\((\d+)\)/.exec(error.hint);
    expect(Number(terminate?.[1]), error.hint).toBe(blockerPid);
    // The hint, followed: the statement it gives, run on the service databases' server.
    await withClient(target.url(), (c) => c.query(terminate![0]));
    await succeeds(cli('verify', '--catch-up'));
  });

  it('VERIFY_SNAPSHOT_TIMEOUT (a long transaction on the monolith): end it as the hint says, verify again', async () => {
    const long = await longTransaction();
    const error = await fails(cli('verify', '--hold-timeout', '2s'), 'VERIFY_SNAPSHOT_TIMEOUT', 1);
    expect(error.hint).toContain(`pid ${long.pid} (`);
    expect(error.hint).toContain('COMMIT or ROLLBACK it in its session');
    await long.client.query('ROLLBACK');
    await succeeds(cli('verify'));
  });

  it('CUTOVER_PRECHECK_TIMEOUT: --timeout bounds the pre-checks (a suspended sync, then a long transaction); the hints followed, cutover runs', async () => {
    const cutover = cli('cutover', '--service', 'shop', '--timeout', '3s');
    const sync = await startSync();
    // Within --max-lag first: the lag pre-check passes, and verify's hold is what waits.
    await waitFor(caughtUp, { timeoutMs: 60_000, intervalMs: 500, what: 'the sync to catch up' });
    sync.child.kill('SIGSTOP');
    const started = Date.now();
    const stopped = await fails(cutover, 'CUTOVER_PRECHECK_TIMEOUT', 1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(stopped.details?.cause).toBe('SYNC_HOLD_TIMEOUT');
    expect(stopped.hint).toMatch(/^Nothing was frozen\. .*kill -CONT.*then run the cutover again\.$/);
    sync.child.kill('SIGCONT');

    const long = await longTransaction();
    const waited = await fails(cutover, 'CUTOVER_PRECHECK_TIMEOUT', 1);
    expect(waited.details?.cause).toBe('VERIFY_SNAPSHOT_TIMEOUT');
    expect(waited.hint).toContain(`End the transaction of pid ${long.pid} (`);
    expect(waited.hint).toContain('then run the cutover again');
    await long.client.query('ROLLBACK');
    await succeeds(cutover);
    await stopSync(sync);
  }, 60_000);
});

// Last: its events-only sync moves the slot past what the service databases applied, so any
// in-process sync after it is refused (SYNC_TARGET_BEHIND_SLOT), as it should be.
describe('a sink the plan does not have', () => {
  it('SYNC_NO_SINK: add an events: section with nats as the hint says, then sync --sink events-only', async () => {
    const error = await fails(cli('sync', '--sink', 'events-only', '--until-caught-up'), 'SYNC_NO_SINK', 2);
    expect(error.hint).toContain('nats: { servers, subject_prefix }');
    const nats = await useNats({ name: 'hints-sync' });
    const withEvents = join(work, 'plan-events.yaml');
    writeFileSync(
      withEvents,
      stringify({
        name: 'hsync',
        source: sourceUrl,
        target: target.url(),
        services: {
          crm: { database: 'hsync_crm', tables: { customers: {} } },
          shop: { database: 'hsync_shop', tables: { orders: {}, items: {} } },
        },
        events: { nats: { servers: [nats.url], subject_prefix: 'hs' } },
      }),
    );
    await succeeds([
      'sync',
      '--sink',
      'events-only',
      '--until-caught-up',
      '--plan',
      withEvents,
      '--secrets-dir',
      secretsDir,
    ]);
  });
});
