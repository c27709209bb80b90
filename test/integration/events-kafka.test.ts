import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { Header } from '../../src/events/change-messages.js';
import { kafkaSink } from '../../src/events/kafka-sink.js';
import { withClient } from '../../src/pg/connect.js';
import type { SyncEvent } from '../../src/sync/events.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { waitFor } from '../support/cluster.js';
import { EVERY_TYPE_DDL, everyTypeWrites } from '../fixtures/debezium/every-type.js';
import { useKafka } from '../support/kafka.js';
import { inSourceOrder, readTopic } from '../support/kafka-topics.js';
import { prepareMigration, runCopy, useMigrationClusters, type Migration } from '../support/migration.js';

/**
 * The Kafka sink in process, beside the appliers: the events of every CareSync column type
 * through the real stream, compared with what the real Debezium connector published for the same
 * writes (test/fixtures/debezium), and the exactly-once position read back on restart.
 */

const fixtures = join(new URL('.', import.meta.url).pathname, '..', 'fixtures', 'debezium');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const debezium = JSON.parse(readFileSync(join(fixtures, 'debezium-payload.json'), 'utf8')) as Record<
  string,
  { key: Json; value: Json }[]
>;

let m: Migration;
let kafka: LocalKafka;
let engine: SyncEngine | undefined;

beforeAll(async () => {
  const [clusters, broker] = await Promise.all([
    useMigrationClusters('events-kafka'),
    useKafka({ name: 'events' }),
  ]);
  kafka = broker;
  m = await prepareMigration(clusters, {
    name: 'evk',
    monolithSql: `${EVERY_TYPE_DDL.join(';\n')};`,
    planBody: `
services:
  all:
    database: all_db
    tables: { every_type: {}, every_type_full: {} }
events:
  kafka: { brokers: ["${broker.bootstrap}"], topic_prefix: dbzp }
  schemas: false
`,
  });
  await runCopy(m.routing);
});

afterEach(async () => {
  await engine?.stop().catch(() => undefined);
  engine = undefined;
});

function sink() {
  return kafkaSink({ events: m.routing.events!, version: 'carve-test' });
}

/** Debezium's row with its long TOAST value shortened as ours (both are the same md5 repetition). */
function sameBig(row: Json, ours: Json): Json {
  if (row && ours && typeof row.big === 'string' && typeof ours.big === 'string' && row.big.length > 100)
    return { ...row, big: ours.big };
  return row;
}

describe('Kafka sink', () => {
  it('publishes every CareSync column type as Debezium does, through the real stream, exactly once across restarts', async () => {
    engine = await startSync({ routing: m.routing, sinks: [sink()] });
    await withClient(m.sourceUrl, async (c) => {
      for (const sql of everyTypeWrites.stream) await c.query(sql);
    });
    await engine.waitForCatchUp();
    await engine.stop();
    engine = undefined;

    for (const table of ['every_type', 'every_type_full']) {
      const ours = await readTopic([kafka.bootstrap], `dbzp.public.${table}`);
      const theirs = debezium[`dbzp.public.${table}`]!.filter((e) => e.value?.op !== 'r');
      // Same messages in the same order: ops, keys, tombstones.
      expect(ours.map((e) => [e.value?.op ?? null, e.key])).toEqual(
        theirs.map((e) => [e.value?.op ?? null, e.key]),
      );
      ours.forEach((event, i) => {
        const dbz = theirs[i]!.value;
        if (!event.value || !dbz) return;
        const after = event.value.after as Json;
        expect(after, `${table} #${i} after`).toEqual(sameBig(dbz.after, after));
        // `before`: the key columns for REPLICA IDENTITY DEFAULT, the whole old row for FULL.
        const before = event.value.before as Json;
        expect(before, `${table} #${i} before`).toEqual(sameBig(dbz.before, before));
        expect(Object.keys(event.value.source as Json)).toEqual(Object.keys(dbz.source));
        expect(event.value.source).toMatchObject({
          connector: 'postgresql',
          name: 'dbzp',
          schema: 'public',
          table,
        });
      });
    }

    // Restart: the sink resumes after its checkpoint; nothing is published twice.
    const before = await readTopic([kafka.bootstrap], 'dbzp.public.every_type');
    engine = await startSync({ routing: m.routing, sinks: [sink()] });
    await withClient(m.sourceUrl, (c) => c.query(`INSERT INTO every_type (id) VALUES (77)`));
    await engine.waitForCatchUp();
    const after = await readTopic([kafka.bootstrap], 'dbzp.public.every_type');
    expect(after.length).toBe(before.length + 1);
    const last = inSourceOrder(after).at(-1)!;
    expect(last.key).toEqual({ id: 77 });
    expect(last.headers.get(Header.kind)).toBe('upsert');
    expect(JSON.parse(last.headers.get(Header.row)!)[0]).toBe('77');
  });

  it('holds the slot through a broker restart and resumes without loss or duplicates', async () => {
    const events: SyncEvent[] = [];
    engine = await startSync({ routing: m.routing, sinks: [sink()], onEvent: (e) => events.push(e) });
    const ids: number[] = [];
    let writing = true;
    const writer = (async () => {
      for (let id = 5000; writing; id++) {
        await withClient(m.sourceUrl, (c) =>
          c.query('INSERT INTO every_type (id, i) VALUES ($1, $2)', [id, id]),
        );
        ids.push(id);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => ids.length > 50, { what: 'writes' });
    await kafka.restart('kill');
    await waitFor(() => events.some((e) => e.type === 'reconnecting'), {
      what: 'a reconnect',
      timeoutMs: 60_000,
    });
    await waitFor(() => ids.length > 300, { what: 'more writes', timeoutMs: 60_000 });
    writing = false;
    await writer;
    await engine.waitForCatchUp();
    // A read_committed reader sees the events once the last stable offset passes the transaction
    // the broker kill left open (aborted when the new producer fences it): wait for that, then
    // compare exactly (a lost or doubled event still fails).
    let published: number[] = [];
    await waitFor(
      async () => {
        published = (await readTopic([kafka.bootstrap], 'dbzp.public.every_type'))
          .filter((e) => e.value !== null && e.key !== null && (e.key as { id: number }).id >= 5000)
          .map((e) => (e.key as { id: number }).id);
        return published.length >= ids.length;
      },
      { what: 'the events to be visible to read_committed', timeoutMs: 60_000 },
    ).catch(() => undefined);
    expect(published.sort((a, b) => a - b)).toEqual(ids);
    const reconnect = events.find((e) => e.type === 'reconnecting') as Extract<
      SyncEvent,
      { type: 'reconnecting' }
    >;
    expect(reconnect.error.code).toBe('EVENTS_BROKER_UNAVAILABLE');
  });
});
