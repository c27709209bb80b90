import { describe, expect, it } from 'vitest';
import { parseLsn } from '../../src/pg/lsn.js';
import {
  createSlotCommand,
  dropSlotCommand,
  publicationNamesOption,
  replicationLiteral,
  startReplicationCommand,
} from '../../src/pg/replication/commands.js';

describe('replication command text for pgoutput streaming', () => {
  it('creates a permanent logical slot with an exported snapshot (PostgreSQL 15 syntax)', () => {
    expect(createSlotCommand('carve_slot', 'pgoutput')).toBe(
      `CREATE_REPLICATION_SLOT "carve_slot" LOGICAL "pgoutput" EXPORT_SNAPSHOT`,
    );
    expect(createSlotCommand('carve_slot', 'pgoutput')).not.toMatch(/TEMPORARY/);
    expect(dropSlotCommand('carve_slot')).toBe('DROP_REPLICATION_SLOT "carve_slot" WAIT');
    expect(dropSlotCommand('carve_slot', false)).toBe('DROP_REPLICATION_SLOT "carve_slot"');
  });

  it('rejects slot names PostgreSQL would reject, naming the slot', () => {
    for (const bad of ['', 'Upper', 'has-dash', 'a"b', 'x'.repeat(64), 'sp ace']) {
      expect(() => createSlotCommand(bad, 'pgoutput')).toThrow(
        expect.objectContaining({ code: 'REPLICATION_SLOT_NAME_INVALID', details: { slot: bad } }),
      );
    }
  });

  it('quotes publication names as identifiers inside one replication-grammar literal', () => {
    expect(publicationNamesOption(['carve'])).toBe('"carve"');
    expect(publicationNamesOption(['Mixed Case', 'a,b', 'q"uote', "it's\\"])).toBe(
      `"Mixed Case","a,b","q""uote","it's\\"`,
    );
    // No E'' form and no backslash doubling: the replication scanner has no escapes.
    expect(replicationLiteral(`"it's\\"`)).toBe(`'"it''s\\"'`);
  });

  it('starts protocol-1 streaming with messages, from an LSN', () => {
    expect(
      startReplicationCommand({
        slot: 's',
        startLsn: parseLsn('16/B374D848'),
        publications: ["p'ub"],
        messages: true,
      }),
    ).toBe(
      `START_REPLICATION SLOT "s" LOGICAL 16/B374D848 (proto_version '1', publication_names '"p''ub"', messages 'true')`,
    );
    expect(startReplicationCommand({ slot: 's', startLsn: 0n, publications: ['p'], binary: true })).toBe(
      `START_REPLICATION SLOT "s" LOGICAL 0/0 (proto_version '1', publication_names '"p"', binary 'true')`,
    );
  });
});
