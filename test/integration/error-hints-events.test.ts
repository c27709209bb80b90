import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { KafkaLog } from '../../src/events/kafka-log.js';
import { withClient } from '../../src/pg/connect.js';
import { spawnCarve, type CliRun } from '../support/carve-cli.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { useKafka } from '../support/kafka.js';
import { readTopic } from '../support/kafka-topics.js';
import { useMigrationClusters } from '../support/migration.js';
import { jsonLines, jsonError, expectError, fails, succeeds, useLeftovers } from '../support/cli-errors.js';

/**
 * The error codes of change events and `carve apply`, each triggered through the CLI against a
 * real Kafka broker as an operator would meet it, and its hint then followed literally: the command
 * (or the one the hint names) succeeds afterwards and the rows are right.
 *
 * Two migrations of the same name share the broker, as a rehearsal and the real one might: "hev"
 * from a monolith on one cluster into service databases on the other (plan 1), and "hev" from a
 * monolith on the second cluster back into the first (plan 2). Their publishers share Kafka's
 * transactional id, which is how a user meets EVENTS_PRODUCER_FENCED (a second carve sync of the
 * same migration stops at the migration lock before it reaches Kafka). The steps build on each
 * other, so they run in order.
 */
let source: LocalCluster;
let target: LocalCluster;
let kafka: LocalKafka;
let mono1: string;
let mono2: string;
const work = mkdtempSync(join(tmpdir(), 'carve-error-hints-events-'));
const secrets1 = join(work, 'secrets-1');
const secrets2 = join(work, 'secrets-2');
const plan1File = join(work, 'plan-1.yaml');
const plan2File = join(work, 'plan-2.yaml');

type Events = Record<string, unknown>;

/** Plan 1: shop (items, notes) and accounts (users without secret), monolith on `source`. */
function writePlan1(events?: Events): void {
  writeFileSync(
    plan1File,
    stringify({
      name: 'hev',
      source: mono1,
      target: target.url(),
      services: {
        shop: { database: 'hev_shop', tables: { items: {}, notes: {} } },
        accounts: { database: 'hev_accounts', tables: { users: { drop: ['secret'] } } },
      },
      ...(events ? { events } : {}),
    }),
  );
}

/**
 * Plan 2, the same migration name on the other monolith: shop2 owns items and projects the users'
 * secrets, which the users' owner does not migrate (so they are not in the events).
 */
function writePlan2(events?: Events): void {
  writeFileSync(
    plan2File,
    stringify({
      name: 'hev',
      source: mono2,
      target: source.url(),
      services: {
        shop2: { database: 'hev2_shop', tables: { items: {} } },
        acct2: { database: 'hev2_acct', tables: { users: { drop: ['secret'] } } },
      },
      projections: [{ from: 'users', to: 'shop2.user_secrets', columns: ['id', 'secret'] }],
      ...(events ? { events } : {}),
    }),
  );
}

const kafkaEvents = (prefix: string, extra: Record<string, unknown> = {}): Events => ({
  kafka: { brokers: [kafka.bootstrap], topic_prefix: prefix, ...extra },
  schemas: false,
});

const MONOLITH = `CREATE TABLE items (id bigint PRIMARY KEY, label text, qty int);
  INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 200) g;
  CREATE TABLE users (id bigint PRIMARY KEY, name text, secret text);
  INSERT INTO users SELECT g, 'user ' || g, 'secret ' || g FROM generate_series(1, 30) g;`;

beforeAll(async () => {
  const [clusters, broker] = await Promise.all([
    useMigrationClusters('hints-ev'),
    useKafka({ name: 'hints-ev' }),
  ]);
  ({ source, target } = clusters);
  kafka = broker;
  mono1 = await createDatabase(source, 'mono_hev');
  mono2 = await createDatabase(target, 'mono_hev2');
  await withClient(mono1, (c) =>
    c.query(`${MONOLITH}
      CREATE TABLE notes (id bigint PRIMARY KEY, body text);
      INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 40) g;`),
  );
  await withClient(mono2, (c) => c.query(MONOLITH));
  writePlan1();
  writePlan2();
  await Promise.all(
    [
      [plan1File, secrets1],
      [plan2File, secrets2],
    ].map(async ([plan, secrets]) => {
      await succeeds(['provision', '--plan', plan!, '--secrets-dir', secrets!]);
      await succeeds(['copy', '--plan', plan!, '--secrets-dir', secrets!]);
    }),
  );
});

const leftovers = useLeftovers();

/** A long-running `carve … --json`, with its output lines as they come. */
function background(args: string[]): { child: ChildProcess; done: Promise<CliRun>; out: () => string } {
  const run = spawnCarve([...args, '--json']);
  leftovers.push(run.child);
  let out = '';
  run.child.stdout!.on('data', (d) => (out += d));
  return { ...run, out: () => out };
}

const lsnValue = (lsn: string) => {
  const [high, low] = lsn.split('/').map((part) => BigInt(`0x${part}`));
  return (high! << 32n) + low!;
};

const notLag = (out: string) =>
  out
    .split('\n')
    .filter((l) => !l.includes('"type":"lag"'))
    .join('\n')
    .slice(-4000);

const plan1 = ['--plan', plan1File, '--secrets-dir', secrets1];
const plan2 = ['--plan', plan2File, '--secrets-dir', secrets2];
const publish1 = ['sync', ...plan1, '--sink', 'kafka-only', '--until-caught-up'];
const applyShop = ['apply', ...plan1, '--from', 'kafka', '--service', 'shop', '--until-caught-up'];

/** count:md5 of a query's rows in key order. */
async function rowsHash(url: string, select: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '-') AS h FROM (${select}) t`,
    );
    return rows[0].h as string;
  });
}

async function expectSame(
  serviceUrl: string,
  select: string,
  monolith = mono1,
  monolithSelect = select,
): Promise<void> {
  expect(await rowsHash(serviceUrl, select)).toBe(await rowsHash(monolith, monolithSelect));
}

const shopUrl = () => target.url('hev_shop');
const shop2Url = () => source.url('hev2_shop');

describe('event error hints, followed literally', () => {
  it('APPLY_NO_EVENTS: add events.kafka to the plan and publish with carve sync', async () => {
    const error = await fails(
      ['apply', ...plan1, '--from', 'kafka', '--service', 'shop'],
      'APPLY_NO_EVENTS',
      2,
    );
    expect(error.hint).toContain('events: { kafka: { brokers, topic_prefix } }');
    expect(error.hint).toContain('carve sync');
    writePlan1(kafkaEvents('hev'));
    await withClient(mono1, (c) =>
      c.query(`INSERT INTO items SELECT g, 'late ' || g, g FROM generate_series(1001, 1100) g;
               UPDATE notes SET body = body || ' (edited)' WHERE id <= 10;`),
    );
    await succeeds(publish1);
    // Published only: the shop database has not seen the rows yet.
    const before = await withClient(shopUrl(), (c) => c.query('SELECT 1 FROM items WHERE id = 1001'));
    expect(before.rowCount).toBe(0);
    await succeeds(applyShop);
    await expectSame(shopUrl(), 'SELECT id, label, qty FROM items');
    await expectSame(shopUrl(), 'SELECT id, body FROM notes');
  });

  it('APPLY_TABLE_NOT_PUBLISHED: add the table to events.tables, then sync and apply', async () => {
    writePlan1({ ...kafkaEvents('hev'), tables: ['items', 'users'] });
    const error = await fails(
      ['apply', ...plan1, '--from', 'kafka', '--service', 'shop'],
      'APPLY_TABLE_NOT_PUBLISHED',
      1,
    );
    // The publisher refuses the same plan: nothing would apply the notes.
    const publisher = await fails(publish1, 'APPLY_TABLE_NOT_PUBLISHED', 1);
    expect(publisher.hint).toBe(error.hint);
    const table = /^Add (\w+) to events\.tables/.exec(error.hint)![1]!;
    expect(table).toBe('notes');
    expect(error.hint).toContain('carve sync and carve apply');
    writePlan1({ ...kafkaEvents('hev'), tables: ['items', 'users', table] });
    await withClient(mono1, (c) =>
      c.query(`INSERT INTO notes SELECT g, 'new ' || g FROM generate_series(101, 120) g`),
    );
    await succeeds(publish1);
    await succeeds(applyShop);
    await expectSame(shopUrl(), 'SELECT id, body FROM notes');
  });

  it('EVENTS_TOPIC_CREATE: lower events.kafka.replication_factor, run sync again', async () => {
    writePlan2(kafkaEvents('hev2', { replication_factor: 3 }));
    const error = await fails(['sync', ...plan2, '--until-caught-up'], 'EVENTS_TOPIC_CREATE', 1);
    expect(error.message).toContain('hev2.');
    expect(error.hint).toContain('events.kafka.replication_factor (3)');
    expect(error.hint).toContain('-1');
    writePlan2(kafkaEvents('hev2', { replication_factor: -1 }));
    await withClient(mono2, (c) => c.query(`UPDATE items SET qty = qty + 1 WHERE id <= 50`));
    await succeeds(['sync', ...plan2, '--until-caught-up']);
    await expectSame(shop2Url(), 'SELECT id, label, qty FROM items', mono2);
    const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test' });
    try {
      const counts = await log.partitionCounts(['hev2.public.items']);
      expect(counts.get('hev2.public.items')).toBe(1);
    } finally {
      await log.close();
    }
  });

  it('APPLY_COLUMN_NOT_PUBLISHED: apply that service in process (carve sync without --sink)', async () => {
    const error = await fails(
      ['apply', ...plan2, '--from', 'kafka', '--service', 'shop2'],
      'APPLY_COLUMN_NOT_PUBLISHED',
      1,
    );
    expect(error.message).toContain('secret');
    expect(error.hint).toContain('carve sync without --sink');
    // The publisher alone refuses it as well: the projection's secrets would be lost.
    await fails(
      ['sync', ...plan2, '--sink', 'kafka-only', '--until-caught-up'],
      'APPLY_COLUMN_NOT_PUBLISHED',
      1,
    );
    await withClient(mono2, (c) => c.query(`UPDATE users SET secret = 'rotated ' || id WHERE id % 3 = 0`));
    await succeeds(['sync', ...plan2, '--until-caught-up']);
    await expectSame(
      shop2Url(),
      'SELECT id, secret FROM user_secrets',
      mono2,
      'SELECT id, secret FROM users',
    );
  });

  it('APPLY_COLUMN_ADDED: run carve apply again (it adds the column first)', async () => {
    const publisher = background(['sync', ...plan1, '--sink', 'kafka-only']);
    const applier = background(['apply', ...plan1, '--from', 'kafka', '--service', 'shop']);
    await waitFor(() => applier.out().includes('"session-started"'), {
      what: 'carve apply to start',
      timeoutMs: 30_000,
      onTimeout: applier.out,
    });
    await withClient(mono1, (c) => c.query(`INSERT INTO items VALUES (6001, 'before the column', 1)`));
    await waitFor(
      async () =>
        (await withClient(shopUrl(), (c) => c.query('SELECT 1 FROM items WHERE id = 6001'))).rowCount === 1,
      { what: 'the insert before the column to be applied', timeoutMs: 30_000, onTimeout: applier.out },
    );
    await withClient(mono1, (c) =>
      c.query(`ALTER TABLE items ADD COLUMN color text DEFAULT 'grey';
               INSERT INTO items VALUES (6002, 'after the column', 2, 'red');
               UPDATE items SET color = 'blue' WHERE id <= 5;`),
    );
    const error = expectError(await applier.done, 'APPLY_COLUMN_ADDED', 1);
    expect(error.message).toContain('hev.public.items');
    expect(error.hint).toContain('run it again');
    await succeeds(applyShop);
    await expectSame(shopUrl(), 'SELECT id, label, qty, color FROM items');
    publisher.child.kill('SIGINT');
    expect((await publisher.done).code).toBe(0);

    // The other order: a publisher that started before a column was added publishes a row from
    // before it (no carve.columns header, a value fewer) and carve apply starts after it with the
    // wider plan. The row keeps the column's default, as on the monolith (not NULL).
    const before = background(['sync', ...plan1, '--sink', 'kafka-only']);
    await waitFor(() => before.out().includes('"stream-started"'), {
      what: 'the publisher to start',
      timeoutMs: 30_000,
      onTimeout: before.out,
    });
    const written = await withClient(mono1, async (c) => {
      await c.query(`INSERT INTO items VALUES (6003, 'before the size', 3, 'green')`);
      return lsnValue((await c.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string);
    });
    await waitFor(
      () =>
        jsonLines(before.out()).some(
          (l) => l.type === 'lag' && lsnValue(l.acknowledgedLsn as string) >= written,
        ),
      { what: 'the row to be published', timeoutMs: 30_000, onTimeout: () => notLag(before.out()) },
    );
    await withClient(mono1, (c) =>
      c.query(`ALTER TABLE items ADD COLUMN size int DEFAULT 7;
               INSERT INTO items VALUES (6004, 'after the size', 4, 'red', 9);`),
    );
    before.child.kill('SIGINT');
    expect((await before.done).code).toBe(0);
    await succeeds(publish1);
    await succeeds(applyShop);
    await expectSame(shopUrl(), 'SELECT id, label, qty, color, size FROM items');
  });

  it('EVENTS_PRODUCER_FENCED: stop the other publisher, run sync again', async () => {
    const first = background(['sync', ...plan1, '--sink', 'kafka-only']);
    await waitFor(() => first.out().includes('"stream-started"'), {
      what: 'plan 1 to publish',
      timeoutMs: 30_000,
      onTimeout: first.out,
    });
    // The other migration named hev starts publishing with the same transactional id.
    const other = background(['sync', ...plan2]);
    await waitFor(() => other.out().includes('"stream-started"'), {
      what: 'plan 2 to publish',
      timeoutMs: 30_000,
      onTimeout: other.out,
    });
    await withClient(mono1, (c) => c.query(`INSERT INTO items VALUES (5000, 'fenced', 1)`));
    const firstRun = await Promise.race([
      first.done,
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(new Error(`plan 1 still runs:\n${notLag(first.out())}\nplan 2:\n${notLag(other.out())}`)),
          45_000,
        ),
      ),
    ]);
    const fenced = expectError(firstRun, 'EVENTS_PRODUCER_FENCED', 1);
    expect(fenced.hint).toContain('Stop the other one and run carve sync again');
    other.child.kill('SIGINT');
    expect((await other.done).code).toBe(0);
    await succeeds(publish1);
    await succeeds(applyShop);
    await expectSame(shopUrl(), 'SELECT id, label, qty FROM items');
  });
  it('a hung carve sync whose monolith sessions ended cannot fence the one that took over', async () => {
    const zombie = background(['sync', ...plan1, '--sink', 'kafka-only']);
    await waitFor(() => zombie.out().includes('"stream-started"'), {
      what: 'the first publisher to start',
      timeoutMs: 30_000,
      onTimeout: zombie.out,
    });
    zombie.child.kill('SIGSTOP');
    // The monolith ends its sessions (a restart, a failover) while the process hangs: the
    // migration lock and the slot are free, and a second carve sync takes over.
    await withClient(mono1, (c) =>
      c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE pid <> pg_backend_pid() AND datname = current_database()
                  AND application_name LIKE 'carve%'`),
    );
    const takeover = background(['sync', ...plan1, '--sink', 'kafka-only']);
    await waitFor(() => takeover.out().includes('"stream-started"'), {
      what: 'the second publisher to take over',
      timeoutMs: 30_000,
      onTimeout: () => notLag(takeover.out()),
    });
    await withClient(mono1, (c) => c.query(`INSERT INTO items VALUES (7001, 'during the hang', 1)`));
    zombie.child.kill('SIGCONT');
    // The hung one stops: fenced on Kafka, or refused the migration lock when it reconnects.
    const stopped = jsonError(await zombie.done);
    expect(['EVENTS_PRODUCER_FENCED', 'MIGRATION_LOCKED']).toContain(stopped.code);
    await withClient(mono1, (c) => c.query(`INSERT INTO items VALUES (7002, 'after the hang', 2)`));
    expect(takeover.child.exitCode).toBeNull();
    takeover.child.kill('SIGINT');
    expect((await takeover.done).code, notLag(takeover.out())).toBe(0);
    await succeeds(publish1);
    await succeeds(applyShop);
    await expectSame(shopUrl(), 'SELECT id, label, qty FROM items');
    const published = (await readTopic([kafka.bootstrap], 'hev.public.items'))
      .map((e) => (e.key as { id: number } | null)?.id)
      .filter((id) => id === 7001 || id === 7002);
    expect(published.sort()).toEqual([7001, 7002]);
  });
});
