import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { AdvisoryLock } from '../../src/state/advisory-locks.js';
import { runCarve, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { useMigrationClusters } from '../support/migration.js';
import { type CliError, fails, succeeds, useLeftovers } from '../support/cli-errors.js';

/**
 * Operator-reachable error codes, each triggered through the CLI as a user would, and its hint
 * then followed literally: the command (or the one the hint names) succeeds afterwards. One small
 * migration on one pair of clusters; the steps build on each other, so they run in order.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
let planFile: string;
const work = mkdtempSync(join(tmpdir(), 'carve-error-hints-'));
const secretsDir = join(work, 'secrets');
/** A regular file: no directory can be created under it, even by root. */
const notADir = join(work, 'not-a-directory');
writeFileSync(notADir, 'x');
/** 58 bytes: `<name>_carved` is over PostgreSQL's 63. */
const LONG = 'ledger_entries_kept_for_the_auditors_until_they_retire_xx';

beforeAll(async () => {
  ({ source, target } = await useMigrationClusters('hints'));
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text, qty int);
             INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g;
             CREATE TABLE notes (id bigint PRIMARY KEY, body text);
             INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g;
             CREATE TABLE ${LONG} (id bigint PRIMARY KEY, amount int);
             INSERT INTO ${LONG} SELECT g, g FROM generate_series(1, 40) g;`),
  );
  planFile = join(work, 'plan.yaml');
  writeFileSync(
    planFile,
    stringify({
      name: 'hinty',
      source: sourceUrl,
      target: target.url(),
      services: {
        shop: { database: 'hinty_shop', tables: { items: {}, notes: {} } },
        ledger: { database: 'hinty_ledger', tables: { [LONG]: {} } },
      },
    }),
  );
});

const leftovers = useLeftovers();

describe('error hints, followed literally', () => {
  it('PROVISION_SECRETS_DIR: choose a writable directory with --secrets-dir', async () => {
    const error = await fails(
      ['provision', '--plan', planFile, '--secrets-dir', join(notADir, 'secrets')],
      'PROVISION_SECRETS_DIR',
      1,
    );
    expect(error.hint).toContain('--secrets-dir');
    await succeeds(['provision', '--plan', planFile, '--secrets-dir', secretsDir]);
  });

  it('the migration the others start from', async () => {
    await succeeds(['migrate', '--plan', planFile, '--secrets-dir', secretsDir]);
  });

  it('RESYNC_UNKNOWN_TABLE: name a moving table as schema.table, as the hint lists them', async () => {
    const error = await fails(
      ['resync', '--plan', planFile, '--secrets-dir', secretsDir, '--table', 'public.nothing_like_it'],
      'RESYNC_UNKNOWN_TABLE',
      2,
    );
    const named = /e\.g\. ([^,\s]+)/.exec(error.hint)![1]!.replace(/\.$/, '');
    expect(['public.items', 'public.notes']).toContain(named);
    await succeeds(['resync', '--plan', planFile, '--secrets-dir', secretsDir, '--table', named]);
  });

  it('RESYNC_UNKNOWN_TABLE with a typo: the hint names the table meant', async () => {
    const error = await fails(
      ['resync', '--plan', planFile, '--secrets-dir', secretsDir, '--table', 'itemz'],
      'RESYNC_UNKNOWN_TABLE',
      2,
    );
    const meant = /Did you mean (\S+)\?/.exec(error.hint)![1]!;
    expect(meant).toBe('public.items');
    await succeeds(['resync', '--plan', planFile, '--secrets-dir', secretsDir, '--table', meant]);
  });

  it('RESYNC_BUSY: wait for the other resync to finish, then resync again', async () => {
    const resync = ['resync', '--plan', planFile, '--secrets-dir', secretsDir, '--table', 'public.notes'];
    // The first resync waits on a lock someone holds on its service table.
    const blocker = await connect(target.url('hinty_shop'));
    await blocker.query('BEGIN; LOCK TABLE notes IN SHARE MODE');
    const first = spawnCarve(resync);
    leftovers.push(first.child);
    await waitFor(
      () =>
        withClient(target.url(), async (c) => {
          const { rows } = await c.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = 'hinty_shop' AND wait_event_type = 'Lock'`,
          );
          return rows.length > 0;
        }),
      { what: 'the first resync to wait on the locked table' },
    );
    const busy = await fails(resync, 'RESYNC_BUSY', 1);
    expect(busy.hint).toContain('Wait for it to finish');
    await blocker.end();
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    await succeeds(resync);
  });

  it('APPLY_UNKNOWN_SERVICE: use one of the services the hint names', async () => {
    const error = await fails(
      ['apply', '--plan', planFile, '--secrets-dir', secretsDir, '--from', 'kafka', '--service', 'shopp'],
      'APPLY_UNKNOWN_SERVICE',
      2,
    );
    const service = /Use one of: ([^,.\s]+)/.exec(error.hint)![1]!;
    expect(service).toBe('shop');
    // The next thing apply needs: the plan has no events section (the broker part is covered by
    // the events tests).
    const next = await fails(
      ['apply', '--plan', planFile, '--secrets-dir', secretsDir, '--from', 'kafka', '--service', service],
      'APPLY_NO_EVENTS',
      2,
    );
    expect(next.hint).toContain('events: { kafka:');
  });

  it('OBSERVE_OUT_DIR: give a writable directory with --out', async () => {
    const error = await fails(
      ['alerts', '--plan', planFile, '--out', join(notADir, 'alerts')],
      'OBSERVE_OUT_DIR',
      1,
    );
    expect(error.hint).toContain('--out');
    await succeeds(['alerts', '--plan', planFile, '--out', join(work, 'alerts')]);
  });

  it('SERVE_TOKEN_FILE: choose a writable directory with --secrets-dir', async () => {
    const error = await fails(
      ['serve', '--plan', planFile, '--port', '0', '--secrets-dir', join(notADir, 'secrets')],
      'SERVE_TOKEN_FILE',
      1,
    );
    expect(error.hint).toContain('--secrets-dir');
    const serve = spawnCarve(['serve', '--plan', planFile, '--port', '0', '--secrets-dir', secretsDir]);
    let err = '';
    serve.child.stderr!.on('data', (d) => (err += d));
    await waitFor(() => err.includes('carve: dashboard at http://'), { what: 'the dashboard to listen' });
    serve.child.kill('SIGINT');
    const run = await serve.done;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  });

  /** The resync a VERIFY_*_MISSING hint names, run as written; then verify passes. */
  async function followResyncHint(error: CliError): Promise<void> {
    const table = /carve resync --plan \S+ --table (\S+?),/.exec(error.hint)?.[1];
    expect(table, error.hint).toBeDefined();
    await succeeds(['resync', '--plan', planFile, '--secrets-dir', secretsDir, '--table', table!]);
    await succeeds(['verify', '--plan', planFile, '--secrets-dir', secretsDir, '--catch-up']);
  }

  it('VERIFY_COLUMN_MISSING (a service table lost a column): the resync the hint names', async () => {
    await withClient(target.url('hinty_shop'), (c) => c.query('ALTER TABLE items DROP COLUMN qty'));
    const error = await fails(
      ['verify', '--plan', planFile, '--secrets-dir', secretsDir],
      'VERIFY_COLUMN_MISSING',
      1,
    );
    await followResyncHint(error);
  });

  it('VERIFY_TABLE_MISSING (a service table dropped): the resync the hint names', async () => {
    await withClient(target.url('hinty_shop'), (c) => c.query('DROP TABLE notes'));
    const error = await fails(
      ['verify', '--plan', planFile, '--secrets-dir', secretsDir],
      'VERIFY_TABLE_MISSING',
      1,
    );
    await followResyncHint(error);
  });

  it('CUTOVER_LAG_TOO_HIGH, CUTOVER_OTHER_SERVICE_IN_PROGRESS, CUTOVER_BUSY, COMPLETE_NAME_TOO_LONG, CUTOVER_COMPLETED', async () => {
    const cli = (...args: string[]) => [...args, '--plan', planFile, '--secrets-dir', secretsDir];
    const sync = spawnCarve(cli('sync'));
    leftovers.push(sync.child);
    const caughtUp = async (below: number) => {
      const run = await runCarve(cli('status', '--json'));
      const status = JSON.parse(run.stdout) as { sync?: { targets?: { lagSeconds: number | null }[] } };
      const targets = status.sync?.targets;
      return !!targets?.length && targets.every((t) => t.lagSeconds !== null && t.lagSeconds < below);
    };
    await waitFor(() => caughtUp(1), { timeoutMs: 60_000, intervalMs: 500, what: 'the sync to catch up' });
    // The sync falls behind: a session on the service database locks a table it applies to while
    // the monolith takes writes.
    const blocker = await connect(target.url('hinty_shop'));
    await blocker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
    for (let i = 0; i < 6; i++) {
      await withClient(sourceUrl, (c) => c.query(`UPDATE items SET qty = qty + 1 WHERE id = $1`, [i + 1]));
      await new Promise((r) => setTimeout(r, 500));
    }
    const lag = await fails(
      cli('cutover', '--service', 'shop', '--max-lag', '1s'),
      'CUTOVER_LAG_TOO_HIGH',
      1,
    );
    expect(lag.hint).toContain('Wait until carve status shows the lag below --max-lag');
    // Its hint, followed: carve sync is given time until carve status shows the lag below --max-lag.
    await blocker.end();
    await waitFor(() => caughtUp(1), { timeoutMs: 60_000, intervalMs: 500, what: 'the lag to go below 1 s' });

    // A cutover killed between its freeze and its journal leaves shop cutting-over.
    const first = spawnCarve([...cli('cutover', '--service', 'shop'), '--json']);
    leftovers.push(first.child);
    let out = '';
    first.child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (/"type":"step-done"[^}]*"step":"freeze"/.test(out)) first.child.kill('SIGKILL');
    });
    const killed = await first.done;
    expect(killed.signal, out).toBe('SIGKILL');

    const other = await fails(cli('cutover', '--service', 'ledger'), 'CUTOVER_OTHER_SERVICE_IN_PROGRESS', 1);
    const finish = /carve cutover --plan \S+ --service (\S+?)[ .]/.exec(other.hint)?.[1];
    expect(finish, other.hint).toBe('shop');
    await succeeds(cli('cutover', '--service', finish!));
    await succeeds(cli('cutover', '--service', 'ledger'));

    // Another cutover/rollback/complete/cancel holds the migration's cutover lock.
    const holder = await connect(sourceUrl);
    await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [AdvisoryLock.cutover('hinty')]);
    const complete = cli('complete', '--service', 'ledger', '--yes', '--rename-source-tables');
    const busy = await fails(complete, 'CUTOVER_BUSY', 1);
    expect(busy.hint).toContain('wait for that command to finish');
    await holder.end(); // the other command finished
    const tooLong = await fails(complete, 'COMPLETE_NAME_TOO_LONG', 1);
    expect(tooLong.hint).toContain('without --rename-source-tables');
    await succeeds(complete.filter((a) => a !== '--rename-source-tables'));
    const completed = await fails(cli('cutover', '--service', 'ledger'), 'CUTOVER_COMPLETED', 1);
    expect(completed.hint).toContain('Nothing to do');

    sync.child.kill('SIGINT');
    const stopped = await sync.done;
    expect(stopped.code, stopped.stderr).toBe(0);
  }, 180_000);

  it('TEARDOWN_SLOT_ACTIVE: stop whatever streams from the slot (pg_recvlogical here), then teardown again', async () => {
    // shop is still cut over (above): a teardown would strand its reverse stream. The hint: roll it
    // back or complete it; completed here, the teardown below may go ahead.
    const stranded = await fails(
      ['teardown', '--plan', planFile, '--secrets-dir', secretsDir, '--yes'],
      'TEARDOWN_SERVICE_CUT_OVER',
      1,
    );
    expect(stranded.hint).toContain('carve complete --plan');
    await succeeds([
      'complete',
      '--plan',
      planFile,
      '--secrets-dir',
      secretsDir,
      '--service',
      'shop',
      '--yes',
    ]);
    const recv = spawn(
      join(source.binaries.binDir, 'pg_recvlogical'),
      [
        '-d',
        sourceUrl,
        '--slot',
        'carve_hinty',
        '--start',
        '-f',
        '/dev/null',
        '-o',
        'proto_version=1',
        '-o',
        'publication_names=carve_hinty',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let recvErr = '';
    recv.stderr.on('data', (d) => (recvErr += d));
    const recvDone = new Promise((resolve) => recv.on('close', resolve));
    await waitFor(
      () =>
        withClient(
          sourceUrl,
          async (c) =>
            (await c.query(`SELECT active FROM pg_replication_slots WHERE slot_name = 'carve_hinty'`)).rows[0]
              ?.active === true,
        ),
      { what: `pg_recvlogical to stream from the slot (${recvErr})` },
    );
    const error = await fails(['teardown', '--plan', planFile, '--yes'], 'TEARDOWN_SLOT_ACTIVE', 1);
    expect(error.hint).toContain('pg_recvlogical');
    recv.kill('SIGINT');
    await recvDone;
    await succeeds(['teardown', '--plan', planFile, '--yes']);
  });
});

describe('a monolith role without REPLICATION', () => {
  it('SOURCE_NO_REPLICATION: ALTER ROLE … REPLICATION as the hint says, then migrate', async () => {
    await withClient(source.url(), async (c) => {
      await c.query('CREATE ROLE app LOGIN');
      await c.query('CREATE DATABASE mono_app OWNER app');
    });
    const appUrl = source.url('mono_app', 'app');
    await withClient(appUrl, (c) =>
      c.query(`CREATE TABLE orders (id bigint PRIMARY KEY, total int);
               INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g;`),
    );
    const appPlan = join(work, 'app-plan.yaml');
    writeFileSync(
      appPlan,
      stringify({
        name: 'apphint',
        source: appUrl,
        target: target.url(),
        services: { orders: { database: 'apphint_orders', tables: { orders: {} } } },
      }),
    );
    const args = ['migrate', '--plan', appPlan, '--secrets-dir', join(work, 'app-secrets')];
    const error = await fails(args, 'SOURCE_NO_REPLICATION', 1);
    const statement = /ALTER ROLE <the user in the plan source URL> REPLICATION;/.exec(error.hint)?.[0];
    expect(statement, error.hint).toBeDefined();
    await withClient(source.url(), (c) =>
      c.query(statement!.replace('<the user in the plan source URL>', 'app')),
    );
    await succeeds(args);
  });
});

describe('a copy that did not finish', () => {
  it('SYNC_COPY_UNFINISHED (sync, cutover, resync): carve copy --resume, then they run', async () => {
    const url = await createDatabase(source, 'mono_cpy');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE a (id bigint PRIMARY KEY, v int);
               INSERT INTO a SELECT g, g FROM generate_series(1, 200) g;
               CREATE TABLE b (id bigint PRIMARY KEY, v int);
               INSERT INTO b SELECT g, g FROM generate_series(1, 200) g;`),
    );
    const plan = join(work, 'cpy-plan.yaml');
    writeFileSync(
      plan,
      stringify({
        name: 'cpy',
        source: url,
        target: target.url(),
        services: { s: { database: 'cpy_s', tables: { a: {}, b: {} } } },
      }),
    );
    const cli = (...args: string[]) => [...args, '--plan', plan, '--secrets-dir', join(work, 'cpy-secrets')];
    await succeeds(cli('provision'));
    // The copy waits on a lock someone holds on one service table, and is killed there.
    const blocker = await connect(target.url('cpy_s'));
    // SHARE: the copy reads it, but cannot write it.
    await blocker.query('BEGIN; LOCK TABLE b IN SHARE MODE');
    const copy = spawnCarve(cli('copy'));
    leftovers.push(copy.child);
    await waitFor(
      () =>
        withClient(target.url(), async (c) => {
          const { rows } = await c.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = 'cpy_s' AND wait_event_type = 'Lock'
                AND query ILIKE '%"b"%'`,
          );
          return rows.length > 0;
        }),
      { what: 'the copy to wait on the locked table' },
    );
    copy.child.kill('SIGKILL');
    await copy.done;
    await blocker.end();

    const sync = await fails(cli('sync', '--until-caught-up'), 'SYNC_COPY_UNFINISHED', 1);
    expect(sync.hint).toContain('--resume');
    // cutover starts its own stream first, whose pre-check says it (CUTOVER_COPY_UNFINISHED, the
    // cutover's own pre-check, cannot be reached: no sync can run before the copy finished).
    const cutover = await fails(cli('cutover', '--service', 's'), 'SYNC_COPY_UNFINISHED', 1);
    expect(cutover.hint).toContain('--resume');
    const resync = await fails(cli('resync', '--table', 'a'), 'SYNC_COPY_UNFINISHED', 1);
    expect(resync.hint).toContain('carve copy');
    // The hints, followed: the copy resumed to its end; then sync, resync and cutover run.
    await succeeds(cli('copy', '--resume'));
    await succeeds(cli('sync', '--until-caught-up'));
    await succeeds(cli('resync', '--table', 'a'));
    await succeeds(cli('cutover', '--service', 's'));
  }, 120_000);
});
