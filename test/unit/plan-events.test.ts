import { describe, expect, it } from 'vitest';
import { isCarveError } from '../../src/errors.js';
import { parsePlan } from '../../src/plan/load.js';
import type { PlanProblem } from '../../src/plan/problems.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import { topicName } from '../../src/routing/event-routes.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

const monolith = catalogOf([
  tableOf('patients', ['id', 'name', 'ssn'], { pk: ['id'] }),
  tableOf('consultations', ['id', 'patient_id', 'notes'], { pk: ['id'] }),
  tableOf('audit', ['id'], { pk: ['id'] }),
  tableOf('odd name', ['id'], { pk: ['id'] }),
  tableOf('odd_name', ['id'], { pk: ['id'] }),
]);

const base = (events: string, clinical = '{ consultations: {}, "odd name": {}, odd_name: {} }') => `
source: postgres://m/db
target: postgres://t/postgres
services:
  patient:
    database: patient_db
    tables: { patients: { drop: [ssn] } }
  clinical:
    database: clinical_db
    tables: ${clinical}
exclude: [audit${clinical.includes('odd_name') ? '' : ', odd_name'}]
${events}`;

function problems(text: string): PlanProblem[] {
  try {
    buildRouting(parsePlan(text), monolith);
  } catch (error) {
    if (isCarveError(error, 'PLAN_INVALID')) return error.details.problems as PlanProblem[];
    throw error;
  }
  return [];
}

describe('plan events:', () => {
  it('resolves topics, published columns and entities', () => {
    const routing = buildRouting(
      parsePlan(
        base(`events:
  kafka: { brokers: ["k1:9092", "k2:9092"], topic_prefix: caresync, client_id: carve }
  tables: [patients, consultations]
  sync_completed: { topic: data.sync.completed, entity: { patients: id, consultations: patient_id } }`),
      ),
      monolith,
    );
    const events = routing.events!;
    expect(events.kafka).toEqual({
      brokers: ['k1:9092', 'k2:9092'],
      topicPrefix: 'caresync',
      clientId: 'carve',
      partitions: 1,
      replicationFactor: -1,
    });
    expect(events.schemas).toBe(true);
    expect(events.tables.map((t) => [t.topic, t.columns])).toEqual([
      ['caresync.public.patients', ['id', 'name']],
      ['caresync.public.consultations', ['id', 'patient_id', 'notes']],
    ]);
    expect(events.syncCompleted).toEqual({
      topic: 'data.sync.completed',
      entities: [
        { source: { schema: 'public', name: 'patients' }, columns: ['id'] },
        { source: { schema: 'public', name: 'consultations' }, columns: ['patient_id'] },
      ],
    });
    expect(events.checkpointTopic).toMatch(/^caresync\.carve-checkpoints\./);
  });

  it('publishes every routed table by default', () => {
    const routing = buildRouting(
      parsePlan(
        base(
          `events: { kafka: { brokers: "k:9092", topic_prefix: p }, schemas: false }`,
          '{ consultations: {}, "odd name": {} }',
        ),
      ),
      monolith,
    );
    expect(routing.events!.tables.map((t) => t.topic)).toEqual([
      'p.public.patients',
      'p.public.consultations',
      'p.public.odd_name',
    ]);
  });

  it('rejects unknown keys, a missing broker and bad topic prefixes before anything else', () => {
    const found = problems(
      base(`events:
  kafka: { brokers: [], topic_prefix: "bad prefix", clientid: x }
  sync_completed: { entity: {} }`),
    );
    expect(found.map((p) => [p.code, p.path])).toEqual(
      expect.arrayContaining([
        ['PLAN_UNKNOWN_KEY', 'events.kafka.clientid'],
        ['PLAN_INVALID_VALUE', 'events.kafka.brokers'],
        ['PLAN_INVALID_VALUE', 'events.kafka.topic_prefix'],
        ['PLAN_INVALID_VALUE', 'events.sync_completed.entity'],
      ]),
    );
    expect(problems(base(`events: { tables: [patients] }`)).map((p) => [p.code, p.path])).toEqual([
      ['PLAN_INVALID_VALUE', 'events'],
    ]);
    // One broker at a time: Kafka or NATS, not both.
    expect(
      problems(
        base(
          `events: { kafka: { brokers: k:1, topic_prefix: p }, nats: { servers: [x:4222], subject_prefix: p } }`,
        ),
      ).map((p) => [p.code, p.path, p.message]),
    ).toEqual([['PLAN_INVALID_VALUE', 'events', expect.stringContaining('exactly one broker')]]);
  });

  it('resolves events.nats: subjects per table, stream, duplicate window; sync_completed needs Kafka', () => {
    const routing = buildRouting(
      parsePlan(
        base(
          `events:
  nats: { servers: ["nats://u:p@n1:4222", "n2:4222"], subject_prefix: care.events, duplicate_window: 10m }`,
          '{ consultations: {}, "odd name": {} }',
        ),
      ),
      monolith,
    );
    const events = routing.events!;
    expect(events.kafka).toBeUndefined();
    expect(events.nats).toEqual({
      servers: ['nats://u:p@n1:4222', 'n2:4222'],
      subjectPrefix: 'care.events',
      stream: 'care_events',
      duplicateWindowMs: 600_000,
      replicas: 1,
    });
    // A character NATS gives a meaning (space, dot, *, >) inside a name becomes `_`: two tokens per table.
    expect(events.tables.map((t) => t.topic)).toEqual([
      'care.events.public.patients',
      'care.events.public.consultations',
      'care.events.public.odd_name',
    ]);
    expect(events.checkpointTopic).toBe('care.events.carve-checkpoints.carve');
    expect(
      problems(
        base(`events:
  nats: { servers: [x:4222], subject_prefix: "a.>", duplicate_window: 2 weeks, stream: "a.b" }
  sync_completed: { entity: { patients: id } }`),
      ).map((p) => [p.code, p.path]),
    ).toEqual(
      expect.arrayContaining([
        ['PLAN_INVALID_VALUE', 'events.nats.subject_prefix'],
        ['PLAN_INVALID_VALUE', 'events.nats.duplicate_window'],
        ['PLAN_INVALID_VALUE', 'events.nats.stream'],
      ]),
    );
    expect(
      problems(
        base(`events:
  nats: { servers: [x:4222], subject_prefix: p }
  sync_completed: { entity: { patients: id } }`),
      ).map((p) => [p.code, p.path]),
    ).toEqual([['PLAN_INVALID_VALUE', 'events.sync_completed']]);
    const snapshotOnNats = problems(
      base(`events:
  nats: { servers: [x:4222], subject_prefix: p }
  snapshot: true`),
    );
    expect(snapshotOnNats.map((p) => [p.code, p.path])).toEqual([['PLAN_INVALID_VALUE', 'events.snapshot']]);
    expect(snapshotOnNats[0]!.message).toMatch(/Kafka only/);
  });

  it('takes snapshot reads (events.snapshot) off by default, on with true, and nothing but a boolean', () => {
    const events = (snapshot: string) =>
      base(
        `events: { kafka: { brokers: "k:9092", topic_prefix: p }${snapshot} }`,
        '{ consultations: {}, "odd name": {} }',
      );
    expect(buildRouting(parsePlan(events('')), monolith).events).toMatchObject({
      snapshot: false,
      snapshotTopic: expect.stringMatching(/^p\.carve-snapshot\./) as unknown,
    });
    expect(buildRouting(parsePlan(events(', snapshot: true')), monolith).events!.snapshot).toBe(true);
    const bad = problems(events(', snapshot: "yes"'));
    expect(bad.map((p) => [p.code, p.path])).toEqual([['PLAN_INVALID_VALUE', 'events.snapshot']]);
    expect(bad[0]!.message).toMatch(/must be true or false/);
    const typo = problems(events(', snapshots: true'));
    expect(typo.map((p) => [p.code, p.path])).toEqual([['PLAN_UNKNOWN_KEY', 'events.snapshots']]);
    expect(JSON.stringify(typo[0])).toMatch(/snapshot\b/);
  });

  it('names unrouted tables, topic collisions and unpublished entity columns', () => {
    const found = problems(
      base(`events:
  kafka: { brokers: ["k:9092"], topic_prefix: p }
  tables: [patients, audit, nope, "odd name", odd_name]
  sync_completed: { entity: { patients: ssn } }`),
    );
    expect(found.map((p) => [p.code, p.object])).toEqual([
      ['PLAN_EVENTS_TABLE_NOT_ROUTED', 'public.audit'],
      ['PLAN_UNKNOWN_TABLE', 'nope'],
      ['PLAN_EVENTS_TOPIC_COLLISION', 'p.public.odd_name'],
      ['PLAN_EVENTS_COLUMN_NOT_PUBLISHED', 'public.patients'],
    ]);
  });

  it('names topics as Debezium does', () => {
    expect(topicName('caresync', 'public', 'patients')).toBe('caresync.public.patients');
    expect(topicName('c', 'my schema', '"; drop table x; --')).toBe('c.my_schema.___drop_table_x__--');
  });
});
