import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { Header } from '../../src/events/change-messages.js';
import { copySnapshotOptions } from '../../src/events/index.js';
import { kafkaSink } from '../../src/events/kafka-sink.js';
import { KAFKA_SETTLE_MS, KafkaLog } from '../../src/events/kafka-log.js';
import { loadKafka } from '../../src/events/kafka-client.js';
import type { CarveError } from '../../src/errors.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { parseLsn } from '../../src/pg/lsn.js';
import type { Routing } from '../../src/routing/model.js';
import { startSync } from '../../src/sync/index.js';
import { EVERY_TYPE_DDL, everyTypeWrites } from '../fixtures/debezium/every-type.js';
import { runCarve, seededRandom, spawnCarve } from '../support/carve-cli.js';
import { runCopy } from '../support/copy-fixture.js';
import { useKafka } from '../support/kafka.js';
import { readTopic, type ReadEvent } from '../support/kafka-topics.js';
import { prepareMigration, useMigrationClusters, type Migration } from '../support/migration.js';
import { waitFor } from '../support/cluster.js';
import { differingRoutes } from '../support/route-checksums.js';

/**
 * Snapshot reads (`op: r`) of the copy (plan `events.snapshot: true`) on a real broker: the envelope
 * against what Debezium 3.6.1 published for its snapshot read of the same row
 * (test/fixtures/debezium), every copied row exactly once by key, before every change event of its
 * partition, `carve apply` beside them, off by default, and kill -9 of `carve copy` while it
 * publishes.
 */

const fixtures = join(new URL('.', import.meta.url).pathname, '..', 'fixtures', 'debezium');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const debezium = JSON.parse(readFileSync(join(fixtures, 'debezium-payload.json'), 'utf8')) as Record<
  string,
  { key: Json; value: Json }[]
>;

const MONOLITH = `${EVERY_TYPE_DDL.join(';\n')};
${everyTypeWrites.snapshotRow};
CREATE TABLE visits (id bigint PRIMARY KEY, patient_id bigint NOT NULL, note text, at timestamptz);
INSERT INTO visits SELECT g, g % 500, repeat(md5(g::text), 3), timestamptz '2026-01-01' + g * interval '1 minute'
  FROM generate_series(1, 6000) g;
-- No single integer key: the table is one chunk when its rows are published (see chunk-planner).
CREATE TABLE tags (patient_id bigint, n integer, label text, PRIMARY KEY (patient_id, n));
INSERT INTO tags SELECT g / 4, g % 4, 'tag ' || g FROM generate_series(0, 2999) g;
ANALYZE;
`;

const PLAN_SERVICES = `
services:
  clinic:
    database: DB
    tables: { every_type: {}, visits: {}, tags: {} }
exclude: [every_type_full]
`;

let clusters: Awaited<ReturnType<typeof useMigrationClusters>>;
let kafka: LocalKafka;
const dir = mkdtempSync(join(tmpdir(), 'carve-snapshot-'));

beforeAll(async () => {
  [clusters, kafka] = await Promise.all([
    useMigrationClusters('events-snapshot'),
    useKafka({ name: 'snapshot' }),
  ]);
});

function planBody(name: string, prefix: string, snapshot: boolean | undefined): string {
  return `${PLAN_SERVICES.replace('DB', `${name}_db`)}
events:
  kafka: { brokers: ["${kafka.bootstrap}"], topic_prefix: ${prefix}, partitions: 3 }
  schemas: false
${snapshot === undefined ? '' : `  snapshot: ${snapshot}\n`}`;
}

async function migration(name: string, prefix: string, snapshot: boolean | undefined): Promise<Migration> {
  return prepareMigration(clusters, {
    name,
    monolithSql: MONOLITH,
    planBody: planBody(name, prefix, snapshot),
  });
}

/** Committed records of carve's snapshot topic (chunk records only). */
async function publishedChunks(
  routing: Routing,
): Promise<{ route: string; chunk: number; events: number }[]> {
  const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test-snapshot-reader' });
  try {
    const topic = routing.events!.snapshotTopic;
    const end = await log.endOffset(topic, 0).catch(() => 0n);
    if (end === 0n) return [];
    const { records } = await log.readCommitted(topic, 0, 0n, end);
    return records
      .map(
        (r) =>
          JSON.parse(r.value!.toString()) as { kind: string; route: string; chunk: number; events: number },
      )
      .filter((r) => r.kind === 'chunk');
  } finally {
    await log.close();
  }
}

async function topicOf(routing: Routing, table: string): Promise<ReadEvent[]> {
  return readTopic([kafka.bootstrap], routing.events!.tables.find((t) => t.source.name === table)!.topic);
}

async function sourceKeys(m: Migration, sql: string): Promise<string[]> {
  return withClient(m.sourceUrl, async (c) =>
    (await c.query<{ k: string }>(sql)).rows.map((r) => r.k).sort(),
  );
}

/** Each key of the table's `r` events, as a sorted list (duplicates kept). */
function readKeys(events: ReadEvent[], key: (k: Json) => string): string[] {
  return events
    .filter((e) => (e.value as Json)?.op === 'r')
    .map((e) => key(e.key))
    .sort();
}

/** In every partition, no snapshot read comes after a change event. */
function readsFirst(events: ReadEvent[]): string[] {
  const problems: string[] = [];
  const lastChange = new Map<number, bigint>();
  for (const e of [...events].sort((a, b) => (a.offset < b.offset ? -1 : 1))) {
    const op = (e.value as Json)?.op;
    if (op === 'r' && lastChange.has(e.partition))
      problems.push(`r at ${e.partition}/${e.offset} after a change`);
    if (op !== undefined && op !== 'r') lastChange.set(e.partition, e.offset);
  }
  return problems;
}

const visitKey = (k: Json) => String(k.id);
const tagKey = (k: Json) => `${k.patient_id}/${k.n}`;
const ALL_VISITS = `SELECT id::text AS k FROM visits`;
const ALL_TAGS = `SELECT patient_id || '/' || n AS k FROM tags`;

describe('snapshot reads of the copy (events.snapshot)', () => {
  let m: Migration;

  it('publishes every copied row once as op r, in Debezium’s snapshot envelope, before every change; carve apply takes the topics', async () => {
    m = await migration('snap', 'snap', true);
    const copied = await runCopy(m.routing, { chunkBytes: 64 * 1024, ...copySnapshotOptions(m.routing) });
    expect(copied.complete).toBe(true);
    const consistent = parseLsn(copied.consistentLsn);

    // The envelope of a snapshot read, against Debezium's for the same row (every CareSync type).
    const theirs = debezium['dbzp.public.every_type']!.find((e) => e.value?.op === 'r')!;
    const ours = (await topicOf(m.routing, 'every_type')).filter((e) => (e.value as Json)?.op === 'r');
    expect(ours).toHaveLength(1);
    const event = ours[0]!;
    expect(event.key).toEqual(theirs.key);
    const value = event.value as Json;
    // Generated columns: Debezium reads them in its snapshot, carve publishes them nowhere (docs/events.md).
    const { g: _generated, ...theirAfter } = theirs.value.after;
    expect(value.after).toEqual(theirAfter);
    expect(value.before).toBeNull();
    expect(value.op).toBe('r');
    expect(Object.keys(value)).toEqual(Object.keys(theirs.value));
    expect(Object.keys(value.source)).toEqual(Object.keys(theirs.value.source));
    expect(value.source).toMatchObject({
      connector: 'postgresql',
      name: 'snap',
      schema: 'public',
      table: 'every_type',
      snapshot: 'true',
      lsn: Number(consistent),
      sequence: JSON.stringify([null, String(consistent)]),
      txId: null,
    });
    expect(value.transaction).toBeNull();
    expect(event.headers.get(Header.kind)).toBe('read');

    // Every copied row exactly once (count by key), key-range chunks and the one-chunk table alike.
    const chunks = await publishedChunks(m.routing);
    expect(chunks.filter((c) => c.route.endsWith('.visits')).length).toBeGreaterThan(3);
    expect(chunks.filter((c) => c.route.endsWith('.tags')).length).toBe(1);
    expect(readKeys(await topicOf(m.routing, 'visits'), visitKey)).toEqual(await sourceKeys(m, ALL_VISITS));
    expect(readKeys(await topicOf(m.routing, 'tags'), tagKey)).toEqual(await sourceKeys(m, ALL_TAGS));
    expect(copied.snapshotEvents).toBe(6000 + 3000 + 1);

    // Changes after the snapshot point follow every read of their partition; the service database
    // (already copied) is then applied from the topics by `carve apply`, r events and all.
    const engine = await startSync({
      routing: m.routing,
      appliers: false,
      sinks: [kafkaSink({ events: m.routing.events!, version: 'carve-test' })],
    });
    await withClient(m.sourceUrl, async (c) => {
      await c.query(`UPDATE visits SET note = 'changed' WHERE id % 7 = 0`);
      await c.query(`DELETE FROM visits WHERE id % 11 = 0`);
      await c.query(`INSERT INTO visits SELECT g, 1, 'new', now() FROM generate_series(7001, 7100) g`);
      await c.query(`UPDATE tags SET label = 'x' WHERE n = 2`);
    });
    await engine.waitForCatchUp();
    await engine.stop();
    const visits = await topicOf(m.routing, 'visits');
    expect(visits.some((e) => (e.value as Json)?.op === 'u')).toBe(true);
    expect(readsFirst(visits)).toEqual([]);
    expect(readsFirst(await topicOf(m.routing, 'tags'))).toEqual([]);

    const planFile = join(dir, 'snap.yaml');
    writeFileSync(planFile, m.planText);
    // The plan without its events section: apply has nothing to read (APPLY_NO_EVENTS). Its hint,
    // events: { kafka: { brokers, topic_prefix } } in the plan and carve sync publishing, is what
    // this plan and the sync above did: with it, apply runs.
    const bare = join(dir, 'snap-without-events.yaml');
    writeFileSync(bare, m.planText.slice(0, m.planText.indexOf('\nevents:\n') + 1));
    const noEvents = await runCarve(
      [
        'apply',
        '--plan',
        bare,
        '--from',
        'kafka',
        '--service',
        'clinic',
        '--until-caught-up',
        '--json',
      ].concat(['--secrets-dir', m.secretsDir]),
    );
    expect(noEvents.code, noEvents.stderr).toBe(2);
    expect(noEvents.stdout).toContain('"code":"APPLY_NO_EVENTS"');
    expect(noEvents.stdout).toContain('Add events: { kafka: { brokers, topic_prefix } } to the plan');
    const apply = await runCarve([
      'apply',
      '--plan',
      planFile,
      '--from',
      'kafka',
      '--service',
      'clinic',
      '--until-caught-up',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(await differingRoutes(m.routing)).toEqual([]);

    // A following `carve apply --metrics-port` serves the metrics read from the databases.
    const following = spawnCarve(
      ['apply', '--plan', planFile, '--from', 'kafka', '--service', 'clinic', '--metrics-port', '0'].concat([
        '--secrets-dir',
        m.secretsDir,
      ]),
    );
    try {
      let stderr = '';
      following.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const url = await waitFor(() => /metrics at (http:\S+)/.exec(stderr)?.[1], {
        what: 'carve apply to print its metrics address',
        timeoutMs: 30_000,
      });
      const text = await waitFor(
        async () => {
          const body = await (await fetch(url)).text();
          return /migration_lag_bytes\{database="snap_db"\}/.test(body) ? body : undefined;
        },
        { what: 'the lag of snap_db in carve apply’s metrics', timeoutMs: 30_000 },
      );
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    } finally {
      following.child.kill('SIGTERM');
      await following.done;
    }
  }, 120_000);

  it('publishes the chunks an interrupted copy loaded without it when --resume turns it on', async () => {
    const m2 = await migration('snapon', 'snapon', false);
    const stop = new AbortController();
    const loaded: string[] = [];
    const first = await runCopy(m2.routing, {
      chunkBytes: 64 * 1024,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'chunk-done' && loaded.push(`${e.routeId}#${e.chunkNo}`) === 6) stop.abort();
      },
    });
    expect(first.complete).toBe(false);
    // The same migration, its plan now with `snapshot: true`.
    const on = { ...m2.routing, events: { ...m2.routing.events!, snapshot: true } };
    const published: string[] = [];
    const resumed = await runCopy(on, {
      resume: true,
      ...copySnapshotOptions(on),
      onEvent: (e) => {
        if (e.type === 'chunk-published') published.push(`${e.routeId}#${e.chunkNo}`);
      },
    });
    expect(resumed.complete).toBe(true);
    expect(new Set(published).size).toBe(published.length);
    // Chunks of visits (key ranges) loaded by the first run were read again for publishing alone.
    const visitsLoaded = loaded.filter((c) => c.includes('.visits#'));
    expect(visitsLoaded.length).toBeGreaterThan(0);
    expect(published).toEqual(expect.arrayContaining(visitsLoaded));
    expect(readKeys(await topicOf(on, 'visits'), visitKey)).toEqual(await sourceKeys(m2, ALL_VISITS));
    expect(readKeys(await topicOf(on, 'tags'), tagKey)).toEqual(await sourceKeys(m2, ALL_TAGS));
    expect(await differingRoutes(on)).toEqual([]);
  }, 60_000);

  it('is off by default: no snapshot reads, the change events only', async () => {
    const off = await migration('snapoff', 'snapoff', undefined);
    expect(off.routing.events!.snapshot).toBe(false);
    expect(copySnapshotOptions(off.routing).snapshotEvents).toBeUndefined();
    const copied = await runCopy(off.routing, copySnapshotOptions(off.routing));
    expect(copied.complete).toBe(true);
    expect(copied.snapshotEvents).toBeUndefined();
    const engine = await startSync({
      routing: off.routing,
      appliers: false,
      sinks: [kafkaSink({ events: off.routing.events!, version: 'carve-test' })],
    });
    await withClient(off.sourceUrl, (c) => c.query(`UPDATE visits SET note = 'off' WHERE id <= 3`));
    await engine.waitForCatchUp();
    await engine.stop();
    const events = await topicOf(off.routing, 'visits');
    expect(events.map((e) => (e.value as Json)?.op)).toEqual(['u', 'u', 'u']);
    expect(await publishedChunks(off.routing)).toEqual([]);
  }, 60_000);
});

describe('carve copy killed with SIGKILL while it publishes snapshot reads', () => {
  it('publishes every row exactly once across kill -9 and --resume, under updates, and verifies clean', async () => {
    const random = seededRandom(20261204);
    const phases: string[] = [];
    for (let trial = 1; trial <= 2; trial++) {
      const name = `snapkill${trial}`;
      const m = await migration(name, name, true);
      const planFile = join(dir, `${name}.yaml`);
      writeFileSync(planFile, m.planText);
      const carve = (args: string[]) => [...args, '--plan', planFile, '--secrets-dir', m.secretsDir];
      // Updates of non-key columns while the copy runs: the key set stays, the resumed copy reads
      // under a later snapshot, and its catch-up publishes the changes in between.
      let stop = false;
      const load = (async () => {
        const c = await connect(m.sourceUrl);
        try {
          while (!stop) {
            const id = 1 + Math.floor(random() * 6000);
            await c.query(`UPDATE visits SET note = md5(random()::text) WHERE id = $1`, [id]);
          }
        } finally {
          await c.end();
        }
      })();

      // Kill once between a quarter and three quarters of the chunks are published.
      const { child, done } = spawnCarve(carve(['copy', '--json', '--chunk-size', '0.03', '--jobs', '2']));
      let published = 0;
      const killAt = 4 + Math.floor(random() * 8);
      child.stdout!.on('data', (d: Buffer) => {
        published += d
          .toString()
          .split('\n')
          .filter((l) => l.includes('"chunk-published"')).length;
        if (published >= killAt) child.kill('SIGKILL');
      });
      const killed = await done;
      stop = true;
      await load;
      const before = await publishedChunks(m.routing);
      phases.push(`${name}: ${killed.signal ?? `exit ${killed.code}`} after ${before.length} chunks`);
      expect(killed.signal, phases.at(-1)).toBe('SIGKILL');
      // Killed while publishing: some chunks are published, not all (the markers of the last
      // commit may still be on their way).
      expect(before.length, phases.at(-1)).toBeGreaterThanOrEqual(killAt - 1);

      const resumed = await runCarve(carve(['copy', '--json', '--resume', '--jobs', '2']));
      expect(resumed.code, `${phases.at(-1)}: ${resumed.stderr}`).toBe(0);
      const sync = await runCarve(carve(['sync', '--until-caught-up', '--json']));
      expect(sync.code, `${phases.at(-1)}: ${sync.stderr}`).toBe(0);

      // Nothing lost, nothing doubled (read_committed, count by key); reads before changes.
      const visits = await topicOf(m.routing, 'visits');
      expect(readKeys(visits, visitKey), phases.at(-1)).toEqual(await sourceKeys(m, ALL_VISITS));
      expect(readKeys(await topicOf(m.routing, 'tags'), tagKey)).toEqual(await sourceKeys(m, ALL_TAGS));
      expect(readKeys(await topicOf(m.routing, 'every_type'), (k: Json) => String(k.id))).toEqual(['100']);
      expect(readsFirst(visits), phases.at(-1)).toEqual([]);
      // Each chunk published once.
      const chunks = await publishedChunks(m.routing);
      const ids = chunks.map((c) => `${c.route}#${c.chunk}`);
      expect(new Set(ids).size, phases.at(-1)).toBe(ids.length);
      expect(before.length, phases.at(-1)).toBeLessThan(ids.length - 5);
      // The last state of every visit in the topic is the monolith's (reads, then the changes).
      const last = new Map<string, Json>();
      for (const e of visits) if (e.value) last.set(visitKey(e.key), (e.value as Json).after);
      const notes = await withClient(
        m.sourceUrl,
        async (c) => (await c.query<{ id: string; note: string }>(`SELECT id::text, note FROM visits`)).rows,
      );
      expect(notes.filter((r) => last.get(r.id)?.note !== r.note).length, phases.at(-1)).toBe(0);
      expect(await differingRoutes(m.routing), phases.at(-1)).toEqual([]);
    }
  }, 180_000);
});

describe('carve copy killed and resumed with change events but no snapshot reads', () => {
  it('publishes the changes its catch-up applies (between the first and the later snapshot)', async () => {
    const random = seededRandom(20261205);
    const name = 'nosnapkill';
    const m = await migration(name, name, undefined);
    const planFile = join(dir, `${name}.yaml`);
    writeFileSync(planFile, m.planText);
    const carve = (args: string[]) => [...args, '--plan', planFile, '--secrets-dir', m.secretsDir];
    // Updates while the copy runs; the ids updated once the slot exists (after the first loaded
    // chunk) must each reach the topic with the monolith's last note.
    let stop = false;
    let slotExists = false;
    const updated = new Set<string>();
    const load = (async () => {
      const c = await connect(m.sourceUrl);
      try {
        while (!stop) {
          const id = 1 + Math.floor(random() * 6000);
          const after = slotExists;
          await c.query(`UPDATE visits SET note = md5(random()::text) WHERE id = $1`, [id]);
          if (after) updated.add(String(id));
        }
      } finally {
        await c.end();
      }
    })();
    const { child, done } = spawnCarve(carve(['copy', '--json', '--chunk-size', '0.03', '--jobs', '2']));
    let loaded = 0;
    child.stdout!.on('data', (d: Buffer) => {
      loaded += d
        .toString()
        .split('\n')
        .filter((l) => l.includes('"chunk-done"')).length;
      if (loaded >= 1) slotExists = true;
      if (loaded >= 6) child.kill('SIGKILL');
    });
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');
    // Updates go on between the kill and the resume (the resumed copy reads under a later snapshot).
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await load;
    const resumed = await runCarve(carve(['copy', '--json', '--resume', '--jobs', '2']));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('"catch-up-done"');
    const sync = await runCarve(carve(['sync', '--until-caught-up', '--json']));
    expect(sync.code, sync.stderr).toBe(0);

    const visits = await topicOf(m.routing, 'visits');
    expect(readKeys(visits, visitKey)).toEqual([]); // no snapshot reads
    const last = new Map<string, Json>();
    for (const e of visits) if (e.value) last.set(visitKey(e.key), (e.value as Json).after);
    const notes = await withClient(
      m.sourceUrl,
      async (c) => (await c.query<{ id: string; note: string }>(`SELECT id::text, note FROM visits`)).rows,
    );
    expect(updated.size).toBeGreaterThan(20);
    const missing = notes.filter((r) => updated.has(r.id) && last.get(r.id)?.note !== r.note);
    expect(missing.length, `${missing.length} of ${updated.size} updated visits`).toBe(0);
    expect(await differingRoutes(m.routing)).toEqual([]);
  }, 120_000);
});

describe('a broker crash while the copy publishes snapshot reads', () => {
  // A --resume right after the restart works: InitProducerId's NOT_COORDINATOR while the restarted
  // broker loads its transaction log is retried (bounded, KAFKA_SETTLE_MS). When the crash cut a
  // commit short, Kafka 4.4 sometimes records it complete without writing its markers: the
  // transaction stays open on its partitions for good; the resume stops with
  // EVENTS_TRANSACTION_HANGING and the test follows its hint (kafka-transactions.sh abort).
  it('fails the chunks it interrupts; --resume publishes every row exactly once', async () => {
    const m = await migration('snapbroker', 'snapbroker', true);
    let published = 0;
    let failures = 0;
    // The broker is killed after the third chunk is published and started again at once: chunks
    // fail while it is down (commits cut short, transactions half begun) and the copy carries on.
    let crash: Promise<void> | undefined;
    const first = await runCopy(m.routing, {
      chunkBytes: 96 * 1024,
      ...copySnapshotOptions(m.routing),
      onEvent: (e) => {
        if (e.type === 'chunk-failed') failures++;
        if (e.type === 'chunk-published' && ++published === 3)
          crash = kafka.stop('kill').then(() => kafka.start());
      },
    }).finally(() => crash);
    expect(crash).toBeDefined();
    expect(failures).toBeGreaterThan(0);
    if (!first.complete) {
      const resumed = await resumeFollowingHints(m.routing);
      expect(resumed.complete, JSON.stringify(resumed.failed)).toBe(true);
    }
    expect(readKeys(await topicOf(m.routing, 'visits'), visitKey)).toEqual(await sourceKeys(m, ALL_VISITS));
    expect(readKeys(await topicOf(m.routing, 'tags'), tagKey)).toEqual(await sourceKeys(m, ALL_TAGS));
    // Nothing left open: a read_committed consumer reads every partition to its end.
    expect(await openTransactions(m.routing)).toEqual([]);
    expect(await differingRoutes(m.routing)).toEqual([]);
  }, 180_000);

  it('a transaction left open on the snapshot topic stops --resume with the commands that abort it', async () => {
    const m = await migration('snaphang', 'snaphang', true);
    const topic = m.routing.events!.snapshotTopic;
    const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test-hang' });
    await log.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]).finally(() => log.close());
    // What the broker leaves after losing a commit's markers: a chunk record in a transaction no
    // coordinator will complete (here a producer that never ends it, with a long timeout).
    const { Producer } = await loadKafka();
    const stray = new Producer({
      clientId: 'test-stray',
      bootstrapBrokers: [kafka.bootstrap],
      transactionalId: 'test-stray',
      idempotent: true,
      producerId: -1n,
      producerEpoch: -1,
      acks: -1,
      timeout: 600_000,
    });
    const txn = await stray.beginTransaction();
    await txn.send({
      messages: [
        {
          topic,
          partition: 0,
          key: Buffer.from('snaphang_db/public.visits#0'),
          value: Buffer.from(
            JSON.stringify({
              kind: 'chunk',
              copy: '0/0',
              route: 'snaphang_db/public.visits',
              chunk: 0,
              lsn: '0/0',
              events: 0,
              ranges: {},
            }),
          ),
        },
      ],
    });
    await stray.close(true);

    const started = Date.now();
    const error = await runCopy(m.routing, copySnapshotOptions(m.routing)).then(
      () => undefined,
      (e: unknown) => e as CarveError,
    );
    expect(error?.code, String(error)).toBe('EVENTS_TRANSACTION_HANGING');
    expect(Date.now() - started).toBeLessThan(KAFKA_SETTLE_MS + 30_000);
    expect(error!.details).toEqual({ partitions: [{ topic, partition: 0, startOffset: '0' }] });
    await followHint(error!);
    const resumed = await runCopy(m.routing, { resume: true, ...copySnapshotOptions(m.routing) });
    expect(resumed.complete, JSON.stringify(resumed.failed)).toBe(true);
    expect(readKeys(await topicOf(m.routing, 'visits'), visitKey)).toEqual(await sourceKeys(m, ALL_VISITS));
    expect(await openTransactions(m.routing)).toEqual([]);
  }, 120_000);
});

/** carve copy --resume; EVENTS_TRANSACTION_HANGING is followed as its hint says, then resumed again. */
async function resumeFollowingHints(routing: Routing): Promise<Awaited<ReturnType<typeof runCopy>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runCopy(routing, { resume: true, ...copySnapshotOptions(routing) });
    } catch (error) {
      if (attempt >= 3 || (error as CarveError).code !== 'EVENTS_TRANSACTION_HANGING') throw error;
      await followHint(error as CarveError);
    }
  }
}

/** Run the kafka-transactions.sh commands the hint names (the script runs TransactionsCommand). */
async function followHint(error: CarveError): Promise<void> {
  const commands = [...(error.hint ?? '').matchAll(/kafka-transactions\.sh ([^;—]+)/g)].map((c) =>
    c[1]!.trim().split(/\s+/),
  );
  expect(commands.length, error.hint).toBeGreaterThan(0);
  for (const args of commands) {
    const { code, output } = await kafka.tool('org.apache.kafka.tools.TransactionsCommand', args);
    expect(code, output).toBe(0);
  }
}

/** Records of transactions still open on the snapshot topic and the table topics. */
async function openTransactions(routing: Routing): Promise<string[]> {
  const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test-open-transactions' });
  try {
    const topics = [routing.events!.snapshotTopic, ...routing.events!.tables.map((t) => t.topic)];
    const counts = await log.partitionCounts(topics);
    const open: string[] = [];
    for (const topic of topics) {
      for (let partition = 0; partition < counts.get(topic)!; partition++) {
        const end = await log.endOffset(topic, partition);
        const { undecided } = await log.readCommitted(topic, partition, 0n, end);
        for (const r of undecided) open.push(`${topic}/${partition}@${r.offset}`);
      }
    }
    return open;
  } finally {
    await log.close();
  }
}
