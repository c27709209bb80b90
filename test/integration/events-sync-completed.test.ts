import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { buildIndexesWithProvision } from '../../src/migrate/index-builder.js';
import { eventSinks } from '../../src/events/index.js';
import { migrate } from '../../src/migrate/index.js';
import { parsePlan } from '../../src/plan/load.js';
import { KafkaLog } from '../../src/events/kafka-log.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { startSync, type SyncEngine } from '../../src/sync/index.js';
import { waitFor } from '../support/cluster.js';
import { useKafka } from '../support/kafka.js';
import { readTopic } from '../support/kafka-topics.js';
import { prepareMigration, runCopy, useMigrationClusters, type Migration } from '../support/migration.js';

/**
 * data.sync.completed: one event per entity a source transaction touched, published only once
 * every service database the transaction changed holds it. A listener reads each event as it
 * arrives and reads the databases it names right then; one database is held back by a lock, and no
 * event may arrive before it has applied.
 */

let m: Migration;
let kafka: LocalKafka;
let engine: SyncEngine | undefined;

beforeAll(async () => {
  const [clusters, broker] = await Promise.all([
    useMigrationClusters('events-done'),
    useKafka({ name: 'events-done' }),
  ]);
  kafka = broker;
  m = await prepareMigration(clusters, {
    name: 'evdone',
    monolithSql: `
      CREATE TABLE patients (id bigint PRIMARY KEY, name text NOT NULL, version int NOT NULL DEFAULT 0);
      CREATE TABLE visits (id bigint PRIMARY KEY, patient_id bigint NOT NULL, version int NOT NULL DEFAULT 0);
      INSERT INTO patients SELECT g, 'p' || g, 0 FROM generate_series(1, 20) g;
      INSERT INTO visits SELECT g, g % 20 + 1, 0 FROM generate_series(1, 40) g;`,
    planBody: `
services:
  patient:
    database: patient_db
    tables: { patients: {} }
  clinical:
    database: clinical_db
    tables: { visits: {} }
projections:
  - { from: patients, to: clinical.patient_names, columns: [id, name, version] }
events:
  kafka: { brokers: ["${broker.bootstrap}"], topic_prefix: done }
  sync_completed: { topic: data.sync.completed, entity: { patients: id, visits: patient_id } }
`,
  });
  await runCopy(m.routing);
});

afterEach(async () => {
  await engine?.stop().catch(() => undefined);
  engine = undefined;
});

const url = (database: string) => m.routing.services.find((s) => s.database === database)!.url;

describe('data.sync.completed', () => {
  it('arrives only after every database the transaction changed holds it, one event per entity', async () => {
    engine = await startSync({ routing: m.routing, sinks: eventSinks(m.routing) });
    await engine.waitForCatchUp();

    // Hold clinical_db back: its applier waits for this lock.
    const blocker = await connect(url('clinical_db'));
    await blocker.query('BEGIN; LOCK TABLE patient_names IN ACCESS EXCLUSIVE MODE');
    const versions = [1, 2, 3];
    for (const v of versions) {
      await withClient(m.sourceUrl, (c) =>
        c.query(
          `BEGIN; UPDATE patients SET version = ${v}, name = 'v${v}' WHERE id = 7; UPDATE visits SET version = ${v} WHERE id IN (7, 27); COMMIT`,
        ),
      );
    }
    // patient_db applies at once; nothing is published while clinical_db is held.
    await waitFor(
      async () =>
        (await withClient(url('patient_db'), (c) => c.query('SELECT version FROM patients WHERE id = 7')))
          .rows[0].version === 3,
      { what: 'patient_db to apply' },
    );
    const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test' });
    const committed = async () => {
      const end = await log.endOffset('data.sync.completed', 0).catch(() => 0n);
      return (await log.readCommitted('data.sync.completed', 0, 0n, end)).records;
    };
    await new Promise((r) => setTimeout(r, 1500));
    expect(await committed()).toEqual([]);
    const releasedAt = Date.now();
    await blocker.query('COMMIT');
    await blocker.end();

    // Read each event as it arrives, and the databases it names right then.
    const seen: {
      entity: unknown;
      databases: string[];
      version: number;
      at: number;
      dbVersions: number[];
    }[] = [];
    await waitFor(
      async () => {
        for (const record of (await committed()).slice(seen.length)) {
          const event = JSON.parse(record.value!.toString());
          const [p, c] = await Promise.all([
            withClient(url('patient_db'), (db) => db.query('SELECT version FROM patients WHERE id = 7')),
            withClient(url('clinical_db'), (db) =>
              db.query(
                'SELECT (SELECT version FROM patient_names WHERE id = 7) AS n, (SELECT min(version) FROM visits WHERE id IN (7, 27)) AS v',
              ),
            ),
          ]);
          seen.push({
            entity: event.entity,
            databases: event.databases,
            // Events come in transaction order, two per transaction: this one is from version n.
            version: Math.floor(seen.length / 2) + 1,
            at: Date.now(),
            dbVersions: [p.rows[0].version, c.rows[0].n, c.rows[0].v],
          });
          expect(Date.parse(event.apply_time)).toBeGreaterThanOrEqual(releasedAt - 5);
          expect(event.txId).toBeGreaterThan(0);
          expect(Date.parse(event.source_commit_time)).toBeLessThanOrEqual(Date.parse(event.apply_time));
        }
        return seen.length >= versions.length * 2;
      },
      { what: 'the completion events', timeoutMs: 30_000 },
    );
    await log.close();
    // Per transaction: the patient (patients.id) and the visits' patient (visits.patient_id = 8 for
    // id 7 and 27), in transaction order, each naming both databases.
    expect(seen.map((s) => s.entity)).toEqual(
      versions.flatMap(() => [
        { table: 'public.patients', key: { id: '7' } },
        { table: 'public.visits', key: { patient_id: '8' } },
      ]),
    );
    for (const s of seen) {
      expect(s.databases).toEqual(['clinical_db', 'patient_db']);
      // When the event arrived, both databases held its transaction (or a later one).
      expect(Math.min(...s.dbVersions)).toBeGreaterThanOrEqual(s.version);
    }
  });

  it('carve migrate publishes the plan’s events too (the sinks ride along its sync step)', async () => {
    const before = (await readTopic([kafka.bootstrap], 'done.public.patients')).length;
    const report = await migrate({
      prepared: { plan: parsePlan(m.planText, { env: {} }), catalog: m.catalog, routing: m.routing },
      buildIndexes: buildIndexesWithProvision,
      secretsDir: m.secretsDir,
      sinks: eventSinks(m.routing),
      beforeVerify: async () => {
        await withClient(m.sourceUrl, (c) => c.query(`UPDATE patients SET version = 99 WHERE id = 9`));
      },
    });
    expect(report.ok).toBe(true);
    // With schemas on (the default), key and value are Debezium's { schema, payload }.
    const events = (await readTopic([kafka.bootstrap], 'done.public.patients')).map(
      (e) => e.value as { payload: { after: { id: number; version: number } | null } } | null,
    );
    expect(events.length).toBe(before + 1);
    expect(events.filter((v) => v?.payload.after?.id === 9 && v.payload.after.version === 99)).toHaveLength(
      1,
    );
    const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test' });
    const end = await log.endOffset('data.sync.completed', 0);
    const done = (await log.readCommitted('data.sync.completed', 0, 0n, end)).records.map(
      (r) => JSON.parse(r.value!.toString()) as { entity: unknown },
    );
    await log.close();
    expect(done.at(-1)!.entity).toEqual({ table: 'public.patients', key: { id: '9' } });
  });
});
