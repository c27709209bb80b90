import { describe, expect, it } from 'vitest';
import { decodePgoutput } from '../../src/sync/pgoutput/decode.js';
import type { DeleteMessage, InsertMessage, UpdateMessage } from '../../src/sync/pgoutput/messages.js';
import { scanRowChange } from '../../src/sync/pgoutput/raw-change.js';
import { PendingChanges, rowValues, type Row } from '../../src/sync/pending-changes.js';
import { RawUpsert, routeChange, routeRawChange, type RoutedChange } from '../../src/sync/route-change.js';
import { planRelation, type RelationPlan } from '../../src/sync/route-plan.js';
import { rowColumns } from '../../src/sync/row-columns.js';
import { column, relationOf, route, routing, table } from '../support/sync-routes.js';

// patients(id, name, notes, counter, upper_name GENERATED): owner in a (renamed column), projection (name, id) in b.
const patients = table(
  'public',
  'patients',
  [
    column('id', 'bigint', { notNull: true }),
    column('name', 'text'),
    column('notes', 'text'),
    column('counter', 'integer'),
    column('upper_name', 'text', { generated: 'upper(name)' }),
  ],
  ['id'],
);
const r = routing([
  route(patients, { database: 'a', renames: { name: 'full_name' }, generated: ['upper_name'] }),
  route(patients, { database: 'b', kind: 'projection', target: 'names', columns: ['name', 'id'] }),
]);
const planned = planRelation(relationOf(patients), r, new Map());
if (planned.kind !== 'plan') throw new Error('expected a plan');
const plan: RelationPlan = planned.plan;

type Cell = string | null | 'U' | { binary: Buffer };

/** A pgoutput TupleData: 't' text, 'n' NULL, 'u' unchanged TOAST, 'b' binary. */
function tuple(values: Cell[]): Buffer {
  const parts: Buffer[] = [Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const v of values) {
    if (v === null) parts.push(Buffer.from('n'));
    else if (v === 'U') parts.push(Buffer.from('u'));
    else {
      const bytes = typeof v === 'string' ? Buffer.from(v) : v.binary;
      const head = Buffer.alloc(5);
      head[0] = typeof v === 'string' ? 0x74 : 0x62;
      head.writeInt32BE(bytes.length, 1);
      parts.push(head, bytes);
    }
  }
  return Buffer.concat(parts);
}

function message(tag: 'I' | 'U' | 'D', marker: string, ...tuples: Buffer[]): Buffer {
  const head = Buffer.alloc(5);
  head[0] = tag.charCodeAt(0);
  head.writeUInt32BE(16384, 1);
  return Buffer.concat([head, Buffer.from(marker), ...tuples]);
}

/** Route a payload both ways: the fast path (when it takes it) and the decoded one. */
function both(payload: Buffer): { raw: RoutedChange[] | null; decoded: RoutedChange[] } {
  const decoded: RoutedChange[] = [];
  routeChange(plan, decodePgoutput(payload) as InsertMessage | UpdateMessage | DeleteMessage, decoded);
  const scanned = scanRowChange(payload);
  if (!scanned) return { raw: null, decoded };
  const raw: RoutedChange[] = [];
  expect(routeRawChange(plan, scanned, raw)).toBe(true);
  return { raw, decoded };
}

const summary = (changes: RoutedChange[]) =>
  changes.map((c) => ({
    db: c.plan.database,
    kind: c.kind,
    key: c.key,
    ...('values' in c ? { values: c.values } : {}),
    ...('keyValues' in c ? { keyValues: c.keyValues } : {}),
    ...(c.kind === 'upsert' ? { update: c.update } : {}),
  }));

/** Parse PostgreSQL's binary one-dimensional text[] (what array_recv reads). */
function readTextArray(buf: Buffer): (string | null)[] {
  expect(buf.readInt32BE(0)).toBe(1); // dimensions
  expect(buf.readInt32BE(8)).toBe(25); // text
  expect(buf.readInt32BE(16)).toBe(1); // lower bound
  const count = buf.readInt32BE(12);
  const values: (string | null)[] = [];
  let pos = 20;
  for (let i = 0; i < count; i++) {
    const size = buf.readInt32BE(pos);
    pos += 4;
    if (size === -1) values.push(null);
    else {
      values.push(buf.toString('utf8', pos, pos + size));
      pos += size;
    }
  }
  expect(pos).toBe(buf.length);
  expect(buf.readInt32BE(4)).toBe(values.includes(null) ? 1 : 0);
  return values;
}

describe('row changes kept as pgoutput bytes', () => {
  const row = ['7', 'Zoë "Z" \\ {a,b}', null, '42'];

  it('route an insert and a whole-row update exactly as the decoded message does', () => {
    for (const payload of [message('I', 'N', tuple(row)), message('U', 'N', tuple(row))]) {
      const { raw, decoded } = both(payload);
      expect(raw).not.toBeNull();
      expect(raw!.every((c) => c instanceof RawUpsert)).toBe(true);
      expect(summary(raw!)).toEqual(summary(decoded));
      expect(summary(raw!).map((c) => c.db)).toEqual(['a', 'b']);
    }
  });

  it('route a delete by key exactly as the decoded message does', () => {
    const { raw, decoded } = both(message('D', 'K', tuple(['7', null, null, null])));
    expect(raw).not.toBeNull();
    expect(summary(raw!)).toEqual(summary(decoded));
  });

  it('leave unchanged TOAST, binary values, old tuples and malformed payloads to the decoder', () => {
    expect(scanRowChange(message('U', 'N', tuple(['7', 'a', 'U', '1'])))).toBeNull();
    expect(
      scanRowChange(message('I', 'N', tuple(['7', { binary: Buffer.from([1]) }, null, '1']))),
    ).toBeNull();
    expect(
      scanRowChange(message('U', 'K', tuple(['6', null, null, null]), Buffer.from('N'), tuple(row))),
    ).toBeNull();
    expect(scanRowChange(message('U', 'O', tuple(row), Buffer.from('N'), tuple(row)))).toBeNull();
    expect(scanRowChange(message('D', 'O', tuple(row)))).toBeNull();
    const whole = message('I', 'N', tuple(row));
    expect(scanRowChange(whole.subarray(0, whole.length - 1))).toBeNull();
    expect(scanRowChange(Buffer.concat([whole, Buffer.from([0])]))).toBeNull();
  });

  it('frame raw and decoded rows into the same binary text[] columns, in route column order', () => {
    const rows = [
      ['1', 'Ann', null, '0'],
      ['2', 'Ünïcödé ✓', 'x'.repeat(300), null],
      ['3', '', 'NULL', '-1'],
    ];
    for (const routePlan of plan.routes) {
      const raw: RoutedChange[] = [];
      for (const values of rows) routeRawChange(plan, scanRowChange(message('I', 'N', tuple(values)))!, raw);
      const rawRows: Row[] = raw.filter((c) => c.plan === routePlan) as RawUpsert[];
      const decodedRows: Row[] = rawRows.map((c) => [...rowValues(c)]);
      const expected = routePlan.columns.map((col) => rows.map((values) => values[col.index] ?? null));
      expect(rowColumns(routePlan, rawRows).map(readTextArray)).toEqual(expected);
      expect(rowColumns(routePlan, decodedRows).map(readTextArray)).toEqual(expected);
      // Mixed: a raw row collapsed with decoded ones (a refetch, a patch merged into an upsert).
      expect(rowColumns(routePlan, [rawRows[0]!, decodedRows[1]!, rawRows[2]!]).map(readTextArray)).toEqual(
        expected,
      );
    }
  });

  it('collapse raw upserts by key like decoded ones, and merge a later patch into the raw row', () => {
    const pending = new PendingChanges();
    const out: RoutedChange[] = [];
    routeRawChange(plan, scanRowChange(message('I', 'N', tuple(['1', 'Ann', null, '0'])))!, out);
    routeRawChange(plan, scanRowChange(message('U', 'N', tuple(['1', 'Bo', null, '1'])))!, out);
    routeChange(plan, decodePgoutput(message('U', 'N', tuple(['1', 'Cy', 'U', '2']))) as UpdateMessage, out);
    for (const change of out.filter((c) => c.plan.database === 'a'))
      expect(pending.add(change as Exclude<RoutedChange, { kind: 'move' }>)).toBe(true);
    const [flush] = pending.drain();
    expect(flush!.updates).toEqual([]);
    expect(flush!.upserts.map(rowValues)).toEqual([['1', 'Cy', null, '2']]);
  });
});
