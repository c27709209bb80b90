import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { KafkaLog } from '../../src/events/kafka-log.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, type CliRun } from '../support/carve-cli.js';
import { expectError } from '../support/cli-errors.js';
import { createDatabase } from '../support/cluster.js';
import { readTopic, type ReadEvent } from '../support/kafka-topics.js';
import { useKafka } from '../support/kafka.js';
import { useMigrationClusters } from '../support/migration.js';

/**
 * The Kafka publisher's checkpoint behind the slot: events.kafka taken out of the plan, a carve
 * sync moves the slot on, events.kafka put back. The stream would resume at the slot and the
 * changes in between would never reach the topics, silently. `carve sync` must refuse
 * (EVENTS_BEHIND_SLOT) before publishing anything, and its hint, followed literally, must leave
 * topics from which a consumer rebuilds exactly the monolith's rows.
 */
let source: LocalCluster;
let target: LocalCluster;
let kafka: LocalKafka;
let mono: string;
const work = mkdtempSync(join(tmpdir(), 'carve-events-behind-'));
const secrets = join(work, 'secrets');
const planFile = join(work, 'plan.yaml');
const plan = ['--plan', planFile, '--secrets-dir', secrets];
const TOPIC = 'gap.public.items';
const CHECKPOINTS = 'gap.carve-checkpoints.gap';

function writePlan(events: { snapshot: boolean } | null): void {
  writeFileSync(
    planFile,
    stringify({
      name: 'gap',
      source: mono,
      target: target.url(),
      services: { shop: { database: 'gap_shop', tables: { items: {} } } },
      ...(events
        ? {
            events: {
              kafka: { brokers: [kafka.bootstrap], topic_prefix: 'gap', partitions: 2 },
              schemas: false,
              snapshot: events.snapshot,
            },
          }
        : {}),
    }),
  );
}

beforeAll(async () => {
  const [clusters, broker] = await Promise.all([useMigrationClusters('evgap'), useKafka({ name: 'evgap' })]);
  ({ source, target } = clusters);
  kafka = broker;
  mono = await createDatabase(source, 'mono_gap');
  await withClient(mono, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text, qty int);
      INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 200) g;`),
  );
  writePlan({ snapshot: false });
  await succeeds(['provision', ...plan]);
  await succeeds(['copy', ...plan]);
}, 120_000);

async function succeeds(args: string[]): Promise<CliRun> {
  const run = await runCarve(args);
  expect(run.code, `carve ${args.join(' ')}\n${run.stdout.slice(-3000)}\n${run.stderr}`).toBe(0);
  return run;
}

/** id → "label|qty" of the monolith's rows. */
async function monolithRows(): Promise<Map<string, string>> {
  return withClient(mono, async (c) => {
    const { rows } = await c.query<{ id: string; v: string }>(
      `SELECT id::text AS id, label || '|' || qty AS v FROM items`,
    );
    return new Map(rows.map((r) => [r.id, r.v]));
  });
}

/**
 * What a consumer that applies events by key holds after reading each partition from `from`
 * (a partition's offset, or every record): reads and inserts/updates set the row, deletes remove it.
 */
function fold(events: ReadEvent[], from: (partition: number) => bigint = () => 0n): Map<string, string> {
  const rows = new Map<string, string>();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Json = any;
  for (const e of [...events].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1))) {
    if (e.offset < from(e.partition) || e.value === null) continue;
    const value = e.value as Json;
    const id = String((e.key as Json).id);
    if (value.op === 'd') rows.delete(id);
    else rows.set(id, `${value.after.label}|${value.after.qty}`);
  }
  return rows;
}

async function slotLsn(): Promise<string> {
  return withClient(mono, async (c) => {
    const { rows } = await c.query(
      `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'carve_gap'`,
    );
    return rows[0].lsn as string;
  });
}

async function endOffsets(topic: string, partitions: number): Promise<bigint[]> {
  const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test-gap' });
  try {
    const ends: bigint[] = [];
    for (let p = 0; p < partitions; p++) ends.push(await log.endOffset(topic, p));
    return ends;
  } finally {
    await log.close();
  }
}

/** Per partition, the offset of its first snapshot read (op r): where a rebuilding consumer starts. */
function firstReads(events: Awaited<ReturnType<typeof readTopic>>): Map<number, bigint> {
  const first = new Map<number, bigint>();
  for (const e of events) {
    if ((e.value as { op?: string } | null)?.op !== 'r') continue;
    const seen = first.get(e.partition);
    if (seen === undefined || e.offset < seen) first.set(e.partition, e.offset);
  }
  return first;
}

describe('a Kafka publisher behind the slot', () => {
  it('EVENTS_BEHIND_SLOT after events.kafka left the plan for a while; the hint followed until the topics hold the rows', async () => {
    // Published as usual: the topics are complete so far.
    await withClient(mono, (c) => c.query(`UPDATE items SET qty = qty + 1000 WHERE id <= 20`));
    await succeeds(['sync', ...plan, '--until-caught-up']);
    const published = (await readTopic([kafka.bootstrap], TOPIC)).length;
    expect(published).toBe(20);

    // events.kafka taken out of the plan: carve sync applies and acknowledges the slot without it.
    writePlan(null);
    await withClient(mono, (c) =>
      c.query(`INSERT INTO items SELECT g, 'late ' || g, g FROM generate_series(201, 240) g;
               UPDATE items SET label = label || ' (gap)' WHERE id BETWEEN 21 AND 30;
               DELETE FROM items WHERE id BETWEEN 190 AND 200;`),
    );
    await succeeds(['sync', ...plan, '--until-caught-up']);

    // Put back. Without the check the publisher resumed at the slot and the changes above were
    // never published, with nothing to show for it.
    writePlan({ snapshot: false });
    await withClient(mono, (c) => c.query(`UPDATE items SET qty = -1 WHERE id = 5`));
    const checkpointsBefore = await endOffsets(CHECKPOINTS, 1);
    const topicBefore = await endOffsets(TOPIC, 2);
    const refused = await runCarve(['sync', ...plan, '--until-caught-up', '--json']);
    const error = expectError(refused, 'EVENTS_BEHIND_SLOT', 1);
    const slot = await slotLsn();
    expect(error.details).toMatchObject({
      sink: 'kafka',
      checkpointTopic: CHECKPOINTS,
      slot: 'carve_gap',
      slotLsn: slot,
    });
    expect(error.message).toContain(`replication slot carve_gap is at ${slot}`);
    expect(error.message).toContain(`is at ${error.details!.checkpointLsn as string}`);
    // Refused before anything was published or applied.
    expect(await endOffsets(CHECKPOINTS, 1)).toEqual(checkpointsBefore);
    expect(await endOffsets(TOPIC, 2)).toEqual(topicBefore);
    expect(await slotLsn()).toBe(slot);
    const qty5 = await withClient(
      target.url('gap_shop'),
      async (c) => (await c.query(`SELECT qty FROM items WHERE id = 5`)).rows[0].qty as number,
    );
    expect(qty5).toBe(1005);
    // The gap is real: the topics do not give the monolith's rows (inserts, updates and deletes missing).
    const monolith = await monolithRows();
    expect(fold(await readTopic([kafka.bootstrap], TOPIC))).not.toEqual(monolith);
    // It stays refused: run again, same answer (nothing moved).
    expectError(await runCarve(['sync', ...plan, '--until-caught-up', '--json']), 'EVENTS_BEHIND_SLOT', 1);

    // The hint, followed literally.
    const steps =
      /set events\.snapshot: true in the plan, then (carve teardown --plan \S+ --yes), then drop the service databases \(([^)]+)\), then (carve migrate --plan \S+)\./.exec(
        error.hint,
      );
    expect(steps, error.hint).not.toBeNull();
    writePlan({ snapshot: true });
    // The hint names the plan carve was given: its commands run as printed.
    expect(steps![1]).toBe(`carve teardown --plan ${planFile} --yes`);
    const args = (command: string) => command.split(' ').slice(1);
    await succeeds(args(steps![1]!));
    for (const database of steps![2]!.split(', ')) {
      await withClient(target.url(), (c) => c.query(`DROP DATABASE "${database}" WITH (FORCE)`));
    }
    await succeeds([...args(steps![3]!), '--secrets-dir', secrets]);
    await succeeds(['verify', ...plan]);

    // Later changes are published too (the old run's checkpoint is no position of the new copy).
    await withClient(mono, (c) =>
      c.query(`UPDATE items SET label = 'after' WHERE id IN (1, 100, 230);
               DELETE FROM items WHERE id = 2;
               INSERT INTO items VALUES (500, 'five hundred', 500);`),
    );
    await succeeds(['sync', ...plan, '--until-caught-up']);
    await succeeds(['verify', ...plan]);

    // A consumer that rebuilds from the new copy's reads on (the first read of each partition)
    // holds exactly the monolith's rows.
    const events = await readTopic([kafka.bootstrap], TOPIC);
    const firstRead = firstReads(events);
    expect(firstRead.size).toBe(2);
    expect(fold(events, (p) => firstRead.get(p)!)).toEqual(await monolithRows());
  }, 150_000);

  it('carve verify --catch-up with no sync running publishes what it applies: the publisher is not left behind', async () => {
    await withClient(mono, (c) =>
      c.query(`UPDATE items SET qty = qty * 2 WHERE id BETWEEN 40 AND 60;
               DELETE FROM items WHERE id = 3;`),
    );
    const before = await slotLsn();
    await succeeds(['verify', ...plan, '--catch-up']);
    expect(await slotLsn()).not.toBe(before); // its own engine applied and acknowledged
    // Before, that engine had no Kafka sink: the slot moved past the publisher's checkpoint and
    // this sync refused (or, without the check, the changes above never reached the topics).
    await succeeds(['sync', ...plan, '--until-caught-up']);
    const events = await readTopic([kafka.bootstrap], TOPIC);
    const firstRead = firstReads(events);
    expect(fold(events, (p) => firstRead.get(p)!)).toEqual(await monolithRows());
  }, 60_000);
});
