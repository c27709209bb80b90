import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TableEnvelope, type EventColumn, type EventRow } from '../../src/events/envelope.js';

/**
 * carve's envelopes against what Debezium 3.6.1 published for the same writes
 * (test/fixtures/debezium/, recorded by bench/debezium/golden.ts from a real connector).
 */
const fixtures = join(new URL('.', import.meta.url).pathname, '..', 'fixtures', 'debezium');
// Parsed JSON fixtures: loosely typed on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Message = {
  key: { schema?: unknown; payload?: unknown } | Record<string, unknown> | null;
  value: Record<string, Json> | null;
};
const golden = (file: string) =>
  JSON.parse(readFileSync(join(fixtures, file), 'utf8')) as Record<string, Message[]>;
const withSchemas = golden('debezium-schemas.json');
const payloadOnly = golden('debezium-payload.json');

const columns: EventColumn[] = [
  ['id', 'bigint', false],
  ['i', 'integer'],
  ['s', 'smallint'],
  ['t', 'text'],
  ['v', 'character varying(40)'],
  ['ts', 'timestamp with time zone'],
  ['tsl', 'timestamp without time zone'],
  ['tm', 'time without time zone'],
  ['d', 'date'],
  ['iv', 'interval'],
  ['b', 'boolean'],
  ['u', 'uuid'],
  ['j', 'jsonb'],
  ['n', 'numeric(12,2)'],
  ['n3', 'numeric(12,3)'],
  ['nn', 'numeric'],
  ['m', 'numeric(12,2)'], // domain money_amount, resolved to its base type
  ['e', 'text'], // domain email_address
  ['sx', 'sex'],
  ['ip', 'inet'],
  ['dp', 'double precision'],
  ['r', 'real'],
  ['by', 'bytea'],
  ['tags', 'text[]'],
  ['nums', 'integer[]'],
  ['big', 'text'],
].map(([name, base, optional]) => ({
  name: name as string,
  optional: optional !== false,
  type:
    base === 'sex'
      ? { base: 'sex', enumLabels: ['female', 'male', 'intersex', 'unknown'] }
      : base === 'text[]'
        ? { base: 'text[]', element: { base: 'text' } }
        : base === 'integer[]'
          ? { base: 'integer[]', element: { base: 'integer' } }
          : { base: base as string },
}));

const big = 'ab'.repeat(10);
/** Row 1 as PostgreSQL's text output sends it (the walsender's TimeZone happened to be +02 here). */
const row1 = [
  '1',
  '42',
  '-7',
  'text with "quotes" and \\ backslash',
  'varchar',
  '2026-03-04 05:06:07.123456+02',
  '2026-03-04 05:06:07.5',
  '13:14:15.678901',
  '2026-03-04',
  '1 year 2 mons 3 days 04:05:06.789',
  't',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": "x", "b": [1, 2.5, null]}',
  '1234567.89',
  '-0.001',
  '12345.678900',
  '19.99',
  'nurse@example.org',
  'intersex',
  '192.168.0.1/24',
  '3.141592653589793',
  '2.5',
  '\\x00ff10',
  '{a,"b c",NULL,"d\\"e"}',
  '{1,-2,3}',
  big,
];
const nullRow = (id: string) => columns.map((_, i) => (i === 0 ? id : null));

function envelope(prefix: string, schemas: boolean, table = 'every_type'): TableEnvelope {
  return new TableEnvelope(
    { prefix, schemas, database: 'postgres', version: 'carve-test' },
    'public',
    table,
    columns,
    [0],
  );
}

const source = {
  commitMicros: 1796308687606776n,
  snapshot: 'false',
  txId: 765,
  lsn: 22407152n,
  sequence: [null, 22407152n] as const,
  origin: null,
  originLsn: null,
};
const event = (op: 'c' | 'u' | 'd' | 't' | 'r', before: EventRow | null, after: EventRow | null) => ({
  op,
  before,
  after,
  source,
  transaction: { id: '765:22407152', totalOrder: 1, dataCollectionOrder: 1 },
  nowMicros: 1796308687734803n,
});

/** Debezium's payload with the recorded big value replaced by ours (same shape, shorter). */
function normalise(payload: Record<string, Json>): Record<string, Json> {
  const copy = structuredClone(payload);
  for (const side of ['before', 'after']) {
    if (copy[side]?.big && copy[side].big !== '__debezium_unavailable_value' && copy[side].big.length > 100)
      copy[side].big = big;
  }
  return copy;
}

describe('Debezium envelope', () => {
  const dbz = payloadOnly['dbzp.public.every_type']!;
  const mine = envelope('dbzp', false);

  it('renders the key and value schemas exactly as Debezium does', () => {
    const theirs = withSchemas['dbzs.public.every_type']![1]!; // a streamed insert
    const ours = envelope('dbzs', true);
    const key = JSON.parse(ours.keyJson(['1']));
    expect(key).toEqual(theirs.key);
    const value = JSON.parse(ours.valueJson(event('c', null, row1)));
    expect(value.schema).toEqual(theirs.value!.schema);
  });

  it('publishes an insert with every CareSync column type like Debezium', () => {
    const theirs = normalise(dbz[1]!.value!);
    const ours = JSON.parse(mine.valueJson(event('c', null, row1)));
    expect(ours.after).toEqual(theirs.after);
    expect(ours.before).toBeNull();
    expect(ours.op).toBe('c');
    expect(JSON.parse(mine.keyJson(['1']))).toEqual(dbz[1]!.key);
  });

  it('publishes an insert of NULLs, and the source block with every field Debezium has', () => {
    const ours = JSON.parse(mine.valueJson(event('c', null, nullRow('2'))));
    expect(ours.after).toEqual(dbz[2]!.value!.after);
    expect(Object.keys(ours.source)).toEqual(Object.keys(dbz[2]!.value!.source));
    expect(Object.keys(ours)).toEqual(Object.keys(dbz[2]!.value!));
    expect(ours.source).toMatchObject({
      connector: 'postgresql',
      name: 'dbzp',
      db: 'postgres',
      schema: 'public',
      table: 'every_type',
      snapshot: 'false',
      txId: 765,
      lsn: 22407152,
    });
    expect(ours.source.ts_ms).toBe(1796308687606);
    expect(ours.source.sequence).toBe('[null,"22407152"]');
    expect(ours.ts_us).toBe(1796308687734803);
  });

  it('publishes an update without the unchanged TOAST value as Debezium’s placeholder, before null (REPLICA IDENTITY DEFAULT)', () => {
    const after = [...row1];
    after[1] = '43';
    after[3] = 'changed';
    after[5] = '2026-12-31 23:59:59.999999+00';
    const row: EventRow = after.map((v, i) => (columns[i]!.name === 'big' ? undefined : v));
    const ours = JSON.parse(mine.valueJson(event('u', null, row)));
    expect(ours.after).toEqual(dbz[3]!.value!.after);
    expect(ours.before).toBeNull();
  });

  it('publishes a key change as delete (key-only before), tombstone, create — and a delete with key-only before', () => {
    expect(dbz[5]!.value!.op).toBe('d');
    expect(JSON.parse(mine.valueJson(event('d', nullRow('2'), null))).before).toEqual(dbz[5]!.value!.before);
    expect(dbz[6]!.value).toBeNull(); // the tombstone: same key, null value
    expect(JSON.parse(mine.keyJson(['2']))).toEqual(dbz[6]!.key);
    expect(JSON.parse(mine.valueJson(event('c', null, nullRow('3')))).after).toEqual(dbz[7]!.value!.after);
  });

  it('publishes JSON null, an empty array and a NULL array as Debezium does', () => {
    const row = nullRow('3');
    row[12] = 'null';
    row[23] = '{}';
    expect(JSON.parse(mine.valueJson(event('u', null, row))).after).toEqual(dbz[10]!.value!.after);
  });

  it('publishes a truncate with before and after null and no key', () => {
    const ours = JSON.parse(mine.valueJson(event('t', null, null)));
    expect(dbz[11]!.key).toBeNull();
    expect({ before: ours.before, after: ours.after, op: ours.op }).toEqual({
      before: null,
      after: null,
      op: 't',
    });
  });

  it('with REPLICA IDENTITY FULL: the whole old row in before, for updates and deletes', () => {
    const full = payloadOnly['dbzp.public.every_type_full']!;
    const mineFull = envelope('dbzp', false, 'every_type_full');
    const after = [...row1];
    after[1] = '43';
    after[3] = 'changed';
    after[5] = '2026-12-31 23:59:59.999999+00';
    const ours = JSON.parse(mineFull.valueJson(event('u', row1, after)));
    const theirs = normalise(full[2]!.value!);
    expect(ours.before).toEqual(theirs.before);
    expect(ours.after).toEqual(theirs.after);
    const deleted = JSON.parse(mineFull.valueJson(event('d', nullRow('2'), null)));
    expect(deleted.before).toEqual(full[4]!.value!.before);
  });

  it('keeps int64 exact beyond 2^53 and decimals exact at any size', () => {
    const row = nullRow('9223372036854775807');
    row[13] = '-9999999999.99';
    row[15] = '123456789012345678901234567890.000100';
    const text = mine.valueJson(event('c', null, row));
    expect(text).toContain('"id":9223372036854775807');
    const after = JSON.parse(text).after;
    // -999999999999 as Java's BigInteger.toByteArray(): minimal two's complement
    expect(Buffer.from(after.n, 'base64').toString('hex')).toBe('ff172b5af001');
    expect(after.nn.scale).toBe(4);
  });
});
