import { describe, expect, it } from 'vitest';
import { formatLsn, parseLsn } from '../../src/pg/lsn.js';
import {
  decodePgoutput,
  isUnchangedToast,
  pgTimestampToIso,
  RelationCache,
  UNCHANGED_TOAST,
  type BeginMessage,
  type CommitMessage,
  type PgoutputMessage,
  type RelationMessage,
} from '../../src/sync/pgoutput/index.js';
import { loadSqlFixture, loadStreamFixture, type FixtureXLogData } from '../fixtures/pgoutput/load.js';

const text = loadStreamFixture('stream-text.json');
const binary = loadStreamFixture('stream-binary.json');

function decodeAll(messages: typeof text.messages): { raw: FixtureXLogData; message: PgoutputMessage }[] {
  return messages
    .filter((m): m is FixtureXLogData => m.kind === 'xlogdata')
    .map((raw) => ({ raw, message: decodePgoutput(raw.payload) }));
}

const textDecoded = decodeAll(text.messages);
const textMessages = textDecoded.map((d) => d.message);

function changesOf<T extends PgoutputMessage['tag']>(
  messages: PgoutputMessage[],
  tag: T,
  table: string,
): Extract<PgoutputMessage, { tag: T }>[] {
  const relations = new RelationCache();
  const result: Extract<PgoutputMessage, { tag: T }>[] = [];
  for (const message of messages) {
    if (message.tag === 'relation') relations.set(message);
    if (
      message.tag === tag &&
      'relationId' in message &&
      relations.require(message.relationId).name === table
    ) {
      result.push(message as Extract<PgoutputMessage, { tag: T }>);
    }
  }
  return result;
}

describe('pgoutput decoder on a captured PostgreSQL 15 stream (text)', () => {
  it('decodes every message of the stream, in the captured order', () => {
    const tags = textMessages.map((m) => m.tag[0]).join('');
    expect(tags).toMatch(/^btriiic/); // begin, type, relation, 3 inserts, commit
    expect(new Set(textMessages.map((m) => m.tag))).toEqual(
      new Set([
        'begin',
        'commit',
        'origin',
        'relation',
        'type',
        'insert',
        'update',
        'delete',
        'truncate',
        'message',
      ]),
    );
  });

  it('keeps hostile identifiers, the enum Type message and column flags/types/typmods', () => {
    const type = textMessages.find((m) => m.tag === 'type')!;
    expect(type).toMatchObject({ schema: text.schema, name: 'mood' });
    const rel = textMessages.find(
      (m): m is RelationMessage => m.tag === 'relation' && m.name === text.table,
    )!;
    expect(rel.schema).toBe('Tricky "schema" ✓');
    expect(rel.name).toBe('x"; drop table y; --');
    expect(rel.replicaIdentity).toBe('default');
    expect(rel.columns.map((c) => c.name)).toEqual([
      'id',
      '名前',
      'Note "quoted"',
      'amount',
      'happened',
      'mood',
      'tags',
      'doc',
      'big',
      'raw',
    ]);
    expect(rel.columns.filter((c) => c.isKey).map((c) => c.name)).toEqual(['id']);
    expect(rel.columns.map((c) => c.typeOid)).toEqual([
      23,
      25,
      25,
      1700,
      1184,
      type.tag === 'type' ? type.typeOid : -1,
      1009,
      3802,
      25,
      17,
    ]);
    expect(rel.columns[3]!.typeMod).toBe(((12 << 16) | 2) + 4); // numeric(12,2)
    expect(rel.columns[0]!.typeMod).toBe(-1);
  });

  it('keeps text values byte-exact, NULL distinct from empty string', () => {
    const [first, second, third] = changesOf(textMessages, 'insert', text.table);
    expect(first!.newTuple.slice(0, 8)).toEqual([
      '1',
      'Zoë 名前 🐘',
      "line1\nline2\ttab\\back'quote",
      '12345.67',
      '2026-11-25 06:16:05.123456+00',
      'grumpy ☹',
      '{a,"b,c",NULL,"\\"q\\""}',
      '{"k": [1, 2.5, null, "ü"]}',
    ]);
    expect(first!.newTuple[8]).toHaveLength(94 * 32 + 2);
    expect(first!.newTuple[8]).toMatch(/^c4ca4238.*é✓$/);
    expect(first!.newTuple[9]).toBe('\\x00ff10');
    expect(second!.newTuple).toEqual(['2', null, null, null, null, null, null, null, null, null]);
    expect(third!.newTuple).toEqual(['3', '', '', '0.00', '-infinity', 'ok', '{}', 'null', '', '\\x']);
  });

  it("gives unchanged TOAST ('u') for an UPDATE that did not touch the TOASTed column, never null", () => {
    const [update] = changesOf(textMessages, 'update', text.table);
    expect(update!.oldKind).toBeNull();
    expect(update!.oldTuple).toBeNull();
    expect(update!.newTuple[3]).toBe('12346.67');
    expect(update!.newTuple[8]).toBe(UNCHANGED_TOAST);
    expect(isUnchangedToast(update!.newTuple[8]!)).toBe(true);
    expect(JSON.stringify(update!.newTuple[8])).toBe('{"unchangedToast":true}');
    expect(update!.newTuple.filter((v) => v === null)).toHaveLength(0);
  });

  it('gives the old key (K) on a key-changing update and on delete; the full old row (O) under REPLICA IDENTITY FULL', () => {
    const [, keyChange] = changesOf(textMessages, 'update', text.table);
    expect(keyChange).toMatchObject({
      oldKind: 'key',
      oldTuple: ['2', null, null, null, null, null, null, null, null, null],
    });
    expect(keyChange!.newTuple[0]).toBe('10');
    const [del] = changesOf(textMessages, 'delete', text.table);
    expect(del).toMatchObject({
      oldKind: 'key',
      oldTuple: ['3', null, null, null, null, null, null, null, null, null],
    });

    const audit = textMessages.find((m): m is RelationMessage => m.tag === 'relation' && m.name === 'audit')!;
    expect(audit.replicaIdentity).toBe('full');
    // With REPLICA IDENTITY FULL pgoutput flags every column as key: the row key comes from the catalog.
    expect(audit.columns.every((c) => c.isKey)).toBe(true);
    const [fullUpdate] = changesOf(textMessages, 'update', 'audit');
    expect(fullUpdate).toMatchObject({
      oldKind: 'full',
      oldTuple: ['me', 'x', '1'],
      newTuple: ['me', 'x', '11'],
    });
    const [fullDelete] = changesOf(textMessages, 'delete', 'audit');
    expect(fullDelete).toMatchObject({ oldKind: 'full', oldTuple: ['you', null, '2'] });

    const byIndex = textMessages.find(
      (m): m is RelationMessage => m.tag === 'relation' && m.name === 'by_index',
    )!;
    expect(byIndex.replicaIdentity).toBe('index');
    expect(byIndex.columns.map((c) => c.isKey)).toEqual([true, true, false]);
    expect(changesOf(textMessages, 'update', 'by_index')[0]).toMatchObject({
      oldKind: 'key',
      oldTuple: ['1', '1', null],
    });
  });

  it('sends partition changes as the partitioned root (publish_via_partition_root), a partition move as delete + insert', () => {
    const events = changesOf(textMessages, 'insert', 'events');
    expect(events.map((e) => e.newTuple)).toEqual([
      ['1', '2025-06-01', 'old'],
      ['2', '2026-06-01', 'new'],
      ['1', '2026-02-02', 'old'],
    ]);
    expect(changesOf(textMessages, 'insert', 'events_2025')).toHaveLength(0);
    expect(changesOf(textMessages, 'delete', 'events')).toMatchObject([
      { oldKind: 'key', oldTuple: ['1', '2025-06-01', null] },
    ]);
  });

  it('decodes TRUNCATE options and relation ids, logical messages and the Origin message', () => {
    const truncates = textMessages.filter((m) => m.tag === 'truncate');
    const relations = new RelationCache();
    textMessages.forEach((m) => m.tag === 'relation' && relations.set(m));
    expect(
      truncates.map(
        (t) =>
          t.tag === 'truncate' && [
            t.cascade,
            t.restartIdentity,
            t.relationIds.map((id) => relations.require(id).name),
          ],
      ),
    ).toEqual([
      [true, true, ['parent', 'child']],
      [false, false, ['audit']],
    ]);
    const messages = textMessages.filter((m) => m.tag === 'message');
    expect(
      messages.map((m) => m.tag === 'message' && [m.transactional, m.prefix, m.content.toString('hex')]),
    ).toEqual([
      [true, 'carve/tx ✓', '00010203'],
      [false, 'carve/non-tx', Buffer.from('plain text').toString('hex')],
      [true, 'in-tx', ''],
      [false, 'carve-fixture-end', Buffer.from('end').toString('hex')],
    ]);
    const origin = textMessages.find((m) => m.tag === 'origin');
    expect(origin).toEqual({ tag: 'origin', originLsn: parseLsn('0/ABCDEF'), name: 'carve_origin ✓' });
  });

  it('keeps commit timestamps to the microsecond', () => {
    const index = textMessages.findIndex((m) => m.tag === 'origin');
    const begin = textMessages[index - 1] as BeginMessage;
    // pg_replication_origin_xact_setup set the commit time to 2026-01-01 00:00:00.000001+00.
    expect(pgTimestampToIso(begin.commitTime)).toBe('2026-01-01T00:00:00.000001Z');
    const commit = textMessages.slice(index).find((m): m is CommitMessage => m.tag === 'commit')!;
    expect(commit.commitTime).toBe(begin.commitTime);
  });

  it('pairs Begin and Commit LSNs, and the Commit XLogData starts at the commit end', () => {
    let open: BeginMessage | undefined;
    let commits = 0;
    for (const { raw, message } of textDecoded) {
      if (message.tag === 'begin') open = message;
      if (message.tag === 'commit') {
        expect(formatLsn(message.commitLsn)).toBe(formatLsn(open!.finalLsn));
        expect(message.endLsn).toBeGreaterThan(message.commitLsn);
        expect(raw.walStart).toBe(message.endLsn);
        commits++;
        open = undefined;
      }
    }
    expect(commits).toBe(textMessages.filter((m) => m.tag === 'begin').length);
  });

  it('reports a schema change between two Relation messages of the same table', () => {
    const relations = new RelationCache();
    const diffs = textMessages
      .flatMap((m) => (m.tag === 'relation' ? [relations.set(m)] : []))
      .filter((d) => d && !d.identical);
    expect(diffs).toHaveLength(1);
    expect(diffs[0]!.addedColumns.map((c) => c.name)).toEqual(['added']);
    expect(diffs[0]!.retypedColumns).toEqual([
      { name: 'n', from: { typeOid: 23, typeMod: -1 }, to: { typeOid: 20, typeMod: -1 } },
    ]);
  });
});

describe('pgoutput decoder on a captured stream with binary = true', () => {
  const decoded = decodeAll(binary.messages).map((d) => d.message);

  it("gives binary ('b') values as Buffers, keeping NULL and unchanged TOAST distinct", () => {
    const [first, second] = changesOf(decoded, 'insert', binary.table);
    expect(Buffer.isBuffer(first!.newTuple[0])).toBe(true);
    expect((first!.newTuple[0] as Buffer).toString('hex')).toBe('00000001'); // int4 send format
    expect((first!.newTuple[1] as Buffer).toString('utf8')).toBe('Zoë 名前 🐘'); // text send format
    expect((first!.newTuple[9] as Buffer).toString('hex')).toBe('00ff10'); // bytea send format
    expect(second!.newTuple.slice(1)).toEqual(Array(9).fill(null));
    const [update] = changesOf(decoded, 'update', binary.table);
    expect(update!.newTuple[8]).toBe(UNCHANGED_TOAST);
  });
});

describe('messages of later protocol versions', () => {
  it('returns in-progress streaming messages (protocol 2) as typed unsupported results', () => {
    const decoded = loadSqlFixture('sql-streaming-v2.json').map((m) => decodePgoutput(m.payload));
    const kinds = new Set(decoded.map((m) => (m.tag === 'unsupported' ? m.kind : m.tag)));
    expect(kinds).toEqual(new Set(['stream-start', 'stream-stop', 'stream-commit', 'stream-abort']));
    const start = decoded.find((m) => m.tag === 'unsupported' && m.kind === 'stream-start');
    expect(start).toMatchObject({ tag: 'unsupported', code: 'S', xid: expect.any(Number) });
  });

  it('returns two-phase messages (protocol 3) as typed unsupported results with their gid', () => {
    const decoded = loadSqlFixture('sql-two-phase-v3.json').map((m) => decodePgoutput(m.payload));
    const summary = decoded.map((m) => (m.tag === 'unsupported' ? `${m.kind}:${m.gid ?? ''}` : m.tag));
    expect(summary).toEqual([
      'begin-prepare:gid ✓ 1',
      'relation',
      'insert',
      'prepare:gid ✓ 1',
      'commit-prepared:gid ✓ 1',
      'begin-prepare:gid 2',
      'insert',
      'prepare:gid 2',
      'rollback-prepared:gid 2',
    ]);
  });

  it('returns an unknown message type as unsupported/unknown instead of throwing', () => {
    expect(decodePgoutput(Buffer.from('Zanything'))).toEqual({
      tag: 'unsupported',
      kind: 'unknown',
      code: 'Z',
    });
  });
});
