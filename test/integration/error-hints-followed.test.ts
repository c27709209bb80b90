import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';
import { fails, succeeds } from '../support/cli-errors.js';

/**
 * Hints of codes other tests trigger without following them, followed here through the CLI as an
 * operator would: the code, then what its hint says, then the command succeeds. One pair of
 * clusters; the monolith starts with wal_level = replica so its first refusal is SOURCE_WAL_LEVEL.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
const work = mkdtempSync(join(tmpdir(), 'carve-hints-followed-'));

beforeAll(async () => {
  [source, target] = await Promise.all([
    useCluster({ name: 'hints-followed-src', settings: { wal_level: 'replica' } }),
    useCluster({ name: 'hints-followed-dst' }),
  ]);
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
             CREATE TABLE notes (id bigint PRIMARY KEY, body text);
             INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g;`),
  );
});

/** A plan of one service `shop` (database `<name>_shop`) holding `tables`; the other table excluded. */
function writePlan(name: string, tables: string[]): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      name,
      source: sourceUrl,
      target: target.url(),
      services: {
        shop: { database: `${name}_shop`, tables: Object.fromEntries(tables.map((t) => [t, {}])) },
      },
      ...(tables.length < 2 ? { exclude: ['items', 'notes'].filter((t) => !tables.includes(t)) } : {}),
    }),
  );
  return file;
}

const secrets = (name: string) => ['--secrets-dir', join(work, `${name}-secrets`)];

describe('hints followed through the CLI', () => {
  let planA: string;

  it('SOURCE_WAL_LEVEL: the ALTER SYSTEM the hint names and a restart, then migrate', async () => {
    planA = writePlan('hfa', ['items', 'notes']);
    const migrate = ['migrate', '--plan', planA, ...secrets('hfa')];
    const error = await fails(migrate, 'SOURCE_WAL_LEVEL', 1);
    const statement = /ALTER SYSTEM SET wal_level = logical;/.exec(error.hint)?.[0];
    expect(statement, error.hint).toBeDefined();
    expect(error.hint).toContain('restart it');
    await withClient(source.url(), (c) => c.query(statement!));
    await source.restart();
    await succeeds(migrate);
  }, 60_000);

  it('TARGET_NOT_PROVISIONED: a table placed in the plan after provision; carve provision, then copy', async () => {
    const before = writePlan('hfb', ['items']);
    await succeeds(['provision', '--plan', before, ...secrets('hfb')]);
    const after = writePlan('hfb', ['items', 'notes']);
    const error = await fails(['copy', '--plan', after, ...secrets('hfb')], 'TARGET_NOT_PROVISIONED', 1);
    const command = /`carve (provision --plan \S+)`/.exec(error.hint)?.[1];
    expect(command, error.hint).toBe(`provision --plan ${after}`);
    await succeeds([...command!.split(' '), ...secrets('hfb')]);
    await succeeds(['copy', '--plan', after, ...secrets('hfb')]);
  });

  it('PROVISION_CONFLICT: drop the conflicting object, as the hint says; provision, then copy', async () => {
    const plan = writePlan('hfd', ['items']);
    await withClient(target.url(), (c) => c.query('CREATE DATABASE hfd_shop'));
    await withClient(target.url('hfd_shop'), (c) => c.query('CREATE TABLE items (id int, other text)'));
    const error = await fails(['provision', '--plan', plan, ...secrets('hfd')], 'PROVISION_CONFLICT', 1);
    expect(error.message).toContain('public.items');
    expect(error.hint).toContain('Drop or rename the conflicting objects');
    await withClient(target.url('hfd_shop'), (c) => c.query('DROP TABLE items'));
    await succeeds(['provision', '--plan', plan, ...secrets('hfd')]);
    await succeeds(['copy', '--plan', plan, ...secrets('hfd')]);
  });

  it('COPY_TARGET_NOT_EMPTY: drop the service databases and run carve provision again, then copy', async () => {
    const plan = writePlan('hfc', ['items']);
    await succeeds(['provision', '--plan', plan, ...secrets('hfc')]);
    await withClient(target.url('hfc_shop'), (c) => c.query(`INSERT INTO items VALUES (-1, 'stray')`));
    const error = await fails(['copy', '--plan', plan, ...secrets('hfc')], 'COPY_TARGET_NOT_EMPTY', 1);
    expect(error.hint).toContain('drop the service databases and run carve provision again');
    // --resume does not take the rows (the hint says so).
    await fails(['copy', '--plan', plan, '--resume', ...secrets('hfc')], 'COPY_TARGET_NOT_EMPTY', 1);
    await withClient(target.url(), (c) => c.query('DROP DATABASE hfc_shop'));
    await succeeds(['provision', '--plan', plan, ...secrets('hfc')]);
    await succeeds(['copy', '--plan', plan, ...secrets('hfc')]);
  });

  it('SYNC_SLOT_MISSING: teardown, drop the service databases, migrate (the hint), then sync', async () => {
    await succeeds(['teardown', '--plan', planA, '--yes']);
    const sync = ['sync', '--plan', planA, '--until-caught-up', ...secrets('hfa')];
    const error = await fails(sync, 'SYNC_SLOT_MISSING', 1);
    expect(error.hint).toContain(`carve teardown --plan ${planA} --yes`);
    const databases = /then drop the service databases \(([^)]+)\)/.exec(error.hint)?.[1];
    expect(databases, error.hint).toBe('hfa_shop');
    expect(error.hint).toContain(`then carve migrate --plan ${planA}`);
    await succeeds(['teardown', '--plan', planA, '--yes']);
    await withClient(target.url(), (c) => c.query(`DROP DATABASE ${databases!}`));
    await succeeds(['migrate', '--plan', planA, ...secrets('hfa')]);
    await withClient(sourceUrl, (c) => c.query(`UPDATE items SET label = 'moved on' WHERE id = 1`));
    await succeeds(sync);
  }, 60_000);

  it('OBSERVE_LISTEN_FAILED: a free port (0), as the hint says', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as { port: number }).port);
    try {
      const error = await fails(
        ['serve', '--plan', planA, '--port', port, ...secrets('hfa')],
        'OBSERVE_LISTEN_FAILED',
        1,
      );
      expect(error.hint).toContain('pick a free one (or 0 for any)');
    } finally {
      taken.close();
    }
    const serve = spawnCarve(['serve', '--plan', planA, '--port', '0', ...secrets('hfa')]);
    let err = '';
    serve.child.stderr!.on('data', (d) => (err += d));
    try {
      await waitFor(() => err.includes('carve: dashboard at http://'), { what: 'the dashboard to listen' });
    } finally {
      serve.child.kill('SIGINT');
    }
    const run = await serve.done;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  });

  it('COMPLETE_NOT_CUT_OVER, CUTOVER_VERIFY_FAILED: cutover (after verify --repair-sql, as its hint says), then complete', async () => {
    const plan = join(work, 'hfb.yaml'); // provisioned and copied above
    const cli = (...args: string[]) => [...args, '--plan', plan, ...secrets('hfb')];
    const notCutOver = await fails(cli('complete', '--service', 'shop', '--yes'), 'COMPLETE_NOT_CUT_OVER', 1);
    const cutover = /\(carve (cutover --plan \S+ --service shop)\)/.exec(notCutOver.hint)?.[1];
    expect(cutover, notCutOver.hint).toBe(`cutover --plan ${plan} --service shop`);
    // A row differs in the service database: the cutover's verify refuses.
    await withClient(target.url('hfb_shop'), (c) =>
      c.query(`UPDATE items SET label = 'tampered' WHERE id = 7`),
    );
    const refused = await fails(cli('cutover', '--service', 'shop'), 'CUTOVER_VERIFY_FAILED', 1);
    const tables = /carve verify --plan \S+ --tables (\S+) \(--repair-sql/.exec(refused.hint)?.[1];
    expect(tables, refused.hint).toBeDefined();
    const repairFile = join(work, 'hfb-repair.sql');
    const verify = await runCarve(cli('verify', '--tables', tables!, '--repair-sql', repairFile));
    expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(4); // differences found, SQL written
    const psql = join(target.binaries.binDir, 'psql');
    const applied = spawnSync(
      psql,
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', target.url(), '-f', repairFile],
      {
        encoding: 'utf8',
      },
    );
    expect(applied.status, `${applied.stderr}\n${readFileSync(repairFile, 'utf8')}`).toBe(0);
    await succeeds([...cutover!.split(' '), ...secrets('hfb')]);
    await succeeds(cli('complete', '--service', 'shop', '--yes'));
    // Completed: no rollback to name (it would fail with ROLLBACK_COMPLETED); cancel stays refused.
    const cancelled = await fails(cli('cancel', '--yes'), 'CANCEL_SERVICE_CUT_OVER', 1);
    expect(cancelled.hint).not.toContain('carve rollback');
    expect(cancelled.hint).toContain('shop is completed');
    await fails(cli('rollback', '--service', 'shop'), 'ROLLBACK_COMPLETED', 1);
  }, 60_000);

  it('CUTOVER_UNKNOWN_SERVICE, CANCEL_SERVICE_CUT_OVER: the service the hint names; rollback, then cancel', async () => {
    const cli = (...args: string[]) => [...args, '--plan', planA, ...secrets('hfa')];
    const unknown = await fails(cli('cutover', '--service', 'shopp'), 'CUTOVER_UNKNOWN_SERVICE', 2);
    const service = /Name one of the plan's services: (\w+)\./.exec(unknown.hint)?.[1];
    expect(service, unknown.hint).toBe('shop');
    await succeeds(cli('cutover', '--service', service!));
    // Teardown would strand shop's reverse stream: refused, naming the same rollback as cancel.
    const stranded = await fails(cli('teardown', '--yes'), 'TEARDOWN_SERVICE_CUT_OVER', 1);
    expect(stranded.hint).toContain(`carve rollback --plan ${planA} --service shop`);
    const cutOver = await fails(cli('cancel', '--yes'), 'CANCEL_SERVICE_CUT_OVER', 1);
    const rollback = /\(carve (rollback --plan \S+ --service shop)\)/.exec(cutOver.hint)?.[1];
    expect(rollback, cutOver.hint).toBe(`rollback --plan ${planA} --service shop`);
    await succeeds([...rollback!.split(' '), ...secrets('hfa')]);
    await succeeds(cli('cancel', '--yes'));
  }, 60_000);
});
