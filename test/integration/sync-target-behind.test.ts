import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { useKafka } from '../support/kafka.js';
import { useMigrationClusters } from '../support/migration.js';
import { jsonError } from '../support/cli-errors.js';

/**
 * Switching from `carve sync --sink kafka-only` (+ `carve apply`) to in-process apply while carve
 * apply is behind: the slot was acknowledged past changes that are only on Kafka, and a stream
 * started from a service database's position behind the slot's would silently begin at the slot.
 * `carve sync` must refuse (SYNC_TARGET_BEHIND_SLOT) before writing anything, and its hint,
 * followed literally, must bring every database to the monolith's rows.
 */
let source: LocalCluster;
let target: LocalCluster;
let kafka: LocalKafka;
let mono: string;
const work = mkdtempSync(join(tmpdir(), 'carve-sync-behind-'));
const secrets = join(work, 'secrets');
const planFile = join(work, 'plan.yaml');
const plan = ['--plan', planFile, '--secrets-dir', secrets];

beforeAll(async () => {
  const [clusters, broker] = await Promise.all([
    useMigrationClusters('behind'),
    useKafka({ name: 'behind' }),
  ]);
  ({ source, target } = clusters);
  kafka = broker;
  mono = await createDatabase(source, 'mono_behind');
  await withClient(mono, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text, qty int);
      INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 300) g;
      CREATE TABLE users (id bigint PRIMARY KEY, name text);
      INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 50) g;`),
  );
  writeFileSync(
    planFile,
    stringify({
      name: 'behind',
      source: mono,
      target: target.url(),
      services: {
        shop: { database: 'behind_shop', tables: { items: {} } },
        accounts: { database: 'behind_accounts', tables: { users: {} } },
      },
      events: { kafka: { brokers: [kafka.bootstrap], topic_prefix: 'behind' }, schemas: false },
    }),
  );
  await succeeds(['provision', ...plan]);
  await succeeds(['copy', ...plan]);
}, 120_000);

async function succeeds(args: string[]): Promise<CliRun> {
  const run = await runCarve(args);
  expect(run.code, `carve ${args.join(' ')}\n${run.stdout.slice(-3000)}\n${run.stderr}`).toBe(0);
  return run;
}

/** count:md5 of a table's rows in key order. */
async function rowsHash(url: string, table: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '-') AS h FROM ${table} t`,
    );
    return rows[0].h as string;
  });
}

const shopUrl = () => target.url('behind_shop');
const accountsUrl = () => target.url('behind_accounts');

async function appliedLsn(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT lsn::text AS lsn FROM carve.apply_position WHERE migration = 'behind'`,
    );
    return rows[0].lsn as string;
  });
}

interface StatusJson {
  alerts: {
    code: string;
    severity: string;
    message: string;
    hint: string;
    details: Record<string, unknown>;
  }[];
  sync: { targets: { database: string; behindSlot: boolean; applyingFromKafka: boolean }[] };
}

/** `carve status --json`: its exit code and what it printed. */
async function status(): Promise<{ code: number; status: StatusJson }> {
  const run = await runCarve(['status', ...plan, '--json']);
  const line = run.stdout.split('\n').find((l) => l.startsWith('{'));
  expect(line, run.stdout + run.stderr).toBeDefined();
  return { code: run.code!, status: JSON.parse(line!) as StatusJson };
}

function behindAlert(s: StatusJson): StatusJson['alerts'][number] | undefined {
  return s.alerts.find((a) => a.code === 'TARGET_BEHIND_SLOT');
}

async function expectSameAsMonolith(): Promise<void> {
  expect(await rowsHash(shopUrl(), 'items')).toBe(await rowsHash(mono, 'items'));
  expect(await rowsHash(accountsUrl(), 'users')).toBe(await rowsHash(mono, 'users'));
}

describe('switching from kafka-only to in-process apply', () => {
  it('the normal path (copy, then sync) is not refused', async () => {
    await withClient(mono, (c) => c.query(`UPDATE items SET qty = qty + 1 WHERE id <= 20`));
    await succeeds(['sync', ...plan, '--until-caught-up', '--json']);
    await withClient(mono, (c) => c.query(`INSERT INTO users VALUES (51, 'user 51')`));
    await succeeds(['sync', ...plan, '--until-caught-up', '--json']);
    await expectSameAsMonolith();
  });

  it('SYNC_TARGET_BEHIND_SLOT while carve apply is behind; apply as the hint says, then sync', async () => {
    // Round 1 published only; carve apply applies it to the shop database alone.
    await withClient(mono, (c) =>
      c.query(`INSERT INTO items SELECT g, 'new ' || g, g FROM generate_series(1001, 1100) g;
               UPDATE users SET name = name || ' (1)' WHERE id <= 10;`),
    );
    await succeeds(['sync', ...plan, '--sink', 'kafka-only', '--until-caught-up']);
    await succeeds(['apply', ...plan, '--from', 'kafka', '--service', 'shop', '--until-caught-up']);
    // Round 2 published only: the shop database has part of what was published, accounts none.
    await withClient(mono, (c) =>
      c.query(`UPDATE items SET label = label || ' (2)' WHERE id % 7 = 0;
               DELETE FROM items WHERE id BETWEEN 1090 AND 1100;
               INSERT INTO users SELECT g, 'late ' || g FROM generate_series(100, 140) g;`),
    );
    await succeeds(['sync', ...plan, '--sink', 'kafka-only', '--until-caught-up']);
    const shopBefore = await appliedLsn(shopUrl());
    const accountsBefore = await appliedLsn(accountsUrl());
    const itemsBefore = await rowsHash(shopUrl(), 'items');

    const refused = await runCarve(['sync', ...plan, '--until-caught-up', '--json']);
    const error = jsonError(refused);
    expect(error.code, error.message).toBe('SYNC_TARGET_BEHIND_SLOT');
    expect(refused.code).toBe(1);
    expect(error.message).toContain(`behind_shop has applied up to ${shopBefore}`);
    expect(error.message).toContain(`behind_accounts has applied up to ${accountsBefore}`);
    expect(error.message).toContain('carve_behind');
    const slot = await withClient(mono, async (c) => {
      const { rows } = await c.query(
        `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'carve_behind'`,
      );
      return rows[0].lsn as string;
    });
    expect(error.message).toContain(`is at ${slot}`);
    // Refused before any write: positions and rows as they were.
    expect(await appliedLsn(shopUrl())).toBe(shopBefore);
    expect(await appliedLsn(accountsUrl())).toBe(accountsBefore);
    expect(await rowsHash(shopUrl(), 'items')).toBe(itemsBefore);

    // carve verify (no sync running: it reads the positions) refuses the same way, instead of
    // reporting rows that differ or, on an idle monolith, nothing at all.
    const verify = await runCarve(['verify', ...plan, '--json']);
    expect(jsonError(verify).code).toBe('SYNC_TARGET_BEHIND_SLOT');
    expect(verify.code).toBe(1);
    expect(jsonError(verify).hint).toBe(error.hint);

    // carve status says so before anyone runs sync: an error alert (exit 5) with the same way out,
    // and each target marked.
    const seen = await status();
    expect(seen.code).toBe(5);
    const alert = behindAlert(seen.status);
    expect(alert, JSON.stringify(seen.status.alerts)).toMatchObject({
      severity: 'error',
      message: error.message,
    });
    expect(alert!.hint).toBe(error.hint);
    expect(seen.status.sync.targets.map((t) => [t.database, t.behindSlot])).toEqual([
      ['behind_shop', true],
      ['behind_accounts', true],
    ]);

    // The hint, followed literally: each carve apply it names, then carve sync.
    const steps = /apply them from Kafka: (.*?), then run (carve sync --plan \S+) again\./.exec(error.hint);
    expect(steps, error.hint).not.toBeNull();
    const commands = [...steps![1]!.split(', then '), steps![2]!];
    expect(commands).toEqual([
      `carve apply --plan ${planFile} --from kafka --service shop --until-caught-up`,
      `carve apply --plan ${planFile} --from kafka --service accounts --until-caught-up`,
      `carve sync --plan ${planFile}`,
    ]);
    for (const command of commands) {
      const args = command.split(' ').slice(1);
      // carve sync runs until stopped: --until-caught-up makes it end once it has caught up.
      await succeeds([
        ...args,
        '--secrets-dir',
        secrets,
        ...(args[0] === 'sync' ? ['--until-caught-up'] : []),
      ]);
    }
    await expectSameAsMonolith();
    await succeeds(['verify', ...plan]);
    const after = await status();
    expect(behindAlert(after.status)).toBeUndefined();
    expect(after.status.sync.targets.every((t) => !t.behindSlot)).toBe(true);

    // In process from here on: later changes arrive too.
    await withClient(mono, (c) => c.query(`UPDATE users SET name = 'after' WHERE id = 1`));
    await succeeds(['sync', ...plan, '--until-caught-up']);
    await expectSameAsMonolith();
  });

  it('a database restored from an older backup under a running sync: its next session refuses', async () => {
    const run = spawnCarve(['sync', ...plan, '--json']);
    let out = '';
    run.child.stdout!.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('"stream-started"'), {
        what: 'carve sync to stream',
        timeoutMs: 30_000,
        onTimeout: () => out.slice(-3000),
      });
      // What a restore of a backup taken right after the copy leaves: the copy's position, no
      // carve apply offsets. Its applier's connection goes with it, so the engine starts a new
      // session (the check at start has passed long ago).
      const old = await withClient(accountsUrl(), async (c) => {
        await c.query('BEGIN');
        const { rows } = await c.query(
          `UPDATE carve.apply_position p SET lsn = m.consistent_lsn FROM carve.migrations m
            WHERE p.migration = 'behind' AND m.migration = 'behind' RETURNING p.lsn::text AS lsn`,
        );
        await c.query(`DELETE FROM carve.kafka_offsets WHERE migration = 'behind'`);
        await c.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'carve sync%'`,
        );
        await c.query('COMMIT');
        return rows[0].lsn as string;
      });
      await withClient(mono, (c) => c.query(`UPDATE users SET name = 'after the restore' WHERE id <= 5`));
      const stopped = await Promise.race([
        run.done,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`carve sync still runs:\n${out.slice(-3000)}`)), 45_000),
        ),
      ]);
      const error = jsonError(stopped);
      expect(error.code, error.message).toBe('SYNC_TARGET_BEHIND_SLOT');
      expect(stopped.code).toBe(1);
      expect(error.message).toContain(`behind_accounts has applied up to ${old}`);
      expect(error.message).not.toContain('behind_shop');
      expect(await appliedLsn(accountsUrl())).toBe(old);
      // carve status names the restored database alone (its metric and alert rule read the same).
      const seen = await status();
      expect(seen.code).toBe(5);
      expect(behindAlert(seen.status)?.details).toMatchObject({
        behind: [{ database: 'behind_accounts', appliedLsn: old }],
      });

      // The hint, followed literally: Kafka holds every change since the copy.
      const steps = /apply them from Kafka: (.*?), then run (carve sync --plan \S+) again\./.exec(error.hint);
      expect(steps![1]).toBe(
        `carve apply --plan ${planFile} --from kafka --service accounts --until-caught-up`,
      );
      for (const command of [steps![1]!, steps![2]!]) {
        const args = command.split(' ').slice(1);
        await succeeds([
          ...args,
          '--secrets-dir',
          secrets,
          ...(args[0] === 'sync' ? ['--until-caught-up'] : []),
        ]);
      }
      await expectSameAsMonolith();
      await succeeds(['verify', ...plan]);
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    }
  });
});
