import { describe, expect, it } from 'vitest';
import type { Lsn } from '../../src/pg/lsn.js';
import type { ReplicationMessage } from '../../src/pg/replication/protocol.js';
import { parsePlan } from '../../src/plan/load.js';
import { buildRouting } from '../../src/routing/build-routing.js';
import type { TableRoute } from '../../src/routing/model.js';
import { ApplyQueue, type ApplyItem } from '../../src/sync/apply-queue.js';
import { replicationOriginName, writtenByReverseStreamOf } from '../../src/sync/replication-origin.js';
import { StreamDispatcher, type DispatchTarget } from '../../src/sync/stream-dispatch.js';
import { catalogOf, tableOf } from '../fixtures/catalog-builder.js';

/**
 * Loop prevention in the forward stream, without a database: a monolith transaction written under
 * carve's reverse origin of patient_db reaches every route but patient_db's (the projection in
 * clinical_db gets it), and patient_db's sink still advances past it.
 */
const catalog = catalogOf([
  tableOf('people', ['id', { name: 'name', type: 'text', typeOid: 25 }], { pk: ['id'] }),
  tableOf('visits', ['id', 'person_id'], { pk: ['id'] }),
]);
const routing = buildRouting(
  parsePlan(
    `name: m
source: postgres://carve@monolith/app
target: postgres://admin@services/postgres
services:
  patient: { database: patient_db, tables: { people: {} } }
  clinical: { database: clinical_db, tables: { visits: {} } }
projections:
  - { from: people, to: clinical.people_names, columns: [id, name] }
`,
    { env: {} },
  ),
  catalog,
);

/** pgoutput protocol 1 messages, as the walsender sends them. */
class Bytes {
  private parts: Buffer[] = [];
  u8(v: number) {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u16(v: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    this.parts.push(b);
    return this;
  }
  str(v: string) {
    this.parts.push(Buffer.from(`${v}\0`));
    return this;
  }
  text(v: string) {
    const b = Buffer.from(v);
    return this.u8(0x74).u32(b.length).raw(b);
  }
  raw(b: Buffer) {
    this.parts.push(b);
    return this;
  }
  message(): ReplicationMessage {
    return {
      kind: 'xlogdata',
      walStart: 0n,
      walEnd: 0n,
      serverClock: 0n,
      payload: Buffer.concat(this.parts),
    };
  }
}

const relation = (id: number, name: string, columns: [string, number][]) => {
  const b = new Bytes().u8(0x52).u32(id).str('public').str(name).u8(0x64).u16(columns.length);
  for (const [column, type] of columns)
    b.u8(column === 'id' ? 1 : 0)
      .str(column)
      .u32(type)
      .u32(0xffffffff);
  return b.message();
};
const begin = (lsn: Lsn, xid: number) => new Bytes().u8(0x42).u64(lsn).u64(1n).u32(xid).message();
const origin = (name: string) => new Bytes().u8(0x4f).u64(0x99n).str(name).message();
const insert = (id: number, values: string[]) => {
  const b = new Bytes().u8(0x49).u32(id).u8(0x4e).u16(values.length);
  for (const v of values) b.text(v);
  return b.message();
};
const commit = (lsn: Lsn, end: Lsn) => new Bytes().u8(0x43).u8(0).u64(lsn).u64(end).u64(1n).message();

function sink(name: string, database: string): DispatchTarget & { items: ApplyItem[] } {
  const queue = new ApplyQueue(1 << 20);
  const items: ApplyItem[] = [];
  const push = queue.push.bind(queue);
  queue.push = (item: ApplyItem) => {
    items.push(item);
    push(item);
  };
  return {
    name,
    skipBelow: 0n,
    unapplied: [],
    accepts: (route: TableRoute) => route.database === database,
    queue,
    items,
  };
}

describe('forward stream loop prevention', () => {
  it("skips a transaction under carve's reverse origin of D for D's routes only, and D advances past it", async () => {
    const patient = sink('patient_db', 'patient_db');
    const clinical = sink('clinical_db', 'clinical_db');
    const dispatcher = new StreamDispatcher(routing, [patient, clinical], new Map(), {
      resolveType: async (oid: number) => (oid === 23 ? 'integer' : 'text'),
      partitionChain: async () => [],
      resyncFloor: async () => null,
      relationName: async () => null,
      tableColumns: async () => new Map(),
      skipOrigin: writtenByReverseStreamOf('m'), // what every forward session uses
    });
    await dispatcher.dispatch([
      relation(1, 'people', [
        ['id', 23],
        ['name', 25],
      ]),
      // Written by the reverse stream from patient_db.
      begin(0x100n, 7),
      origin(replicationOriginName('m', 'rev', 'patient_db')),
      insert(1, ['1', 'from the service']),
      commit(0x100n, 0x110n),
      // Another replication tool's origin, and an application's write: both go everywhere.
      begin(0x200n, 8),
      origin('someone_else'),
      insert(1, ['2', 'other origin']),
      commit(0x200n, 0x210n),
      begin(0x300n, 9),
      insert(1, ['3', 'application']),
      commit(0x300n, 0x310n),
    ]);
    // alter-column: the once-per-session ensure of each routed column's type (idempotent, no data).
    const kinds = (s: typeof patient) =>
      s.items
        .filter((i) => i.kind !== 'alter-column')
        .map((i) =>
          i.kind === 'upsert' ? `upsert ${i.values[0]}` : i.kind === 'advance' ? `advance ${i.upTo}` : i.kind,
        );
    expect(kinds(patient)).toEqual([
      `advance ${0x110n}`,
      'begin',
      'upsert 2',
      'commit',
      'begin',
      'upsert 3',
      'commit',
    ]);
    expect(kinds(clinical)).toEqual([
      'begin',
      'upsert 1',
      'commit',
      'begin',
      'upsert 2',
      'commit',
      'begin',
      'upsert 3',
      'commit',
    ]);
    const first = clinical.items.find((i) => i.kind === 'begin')!;
    expect(first.kind === 'begin' && first.origin?.name).toBe('carve_m_rev_patient_db');
  });
});
