import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../src/error-catalogue.js';

/**
 * Every error code a user can meet should be met in a test that follows its hint (issue 10). This
 * file keeps the count honest: a code of the catalogue must be named by some other test file, or be
 * listed below with why not. The list may only shrink: a listed code that a test now names fails
 * here until it is removed, and a new code fails here until a test names it.
 */
const NOT_NAMED_BY_A_TEST: Record<string, string> = {
  APPLY_EVENT_UNKNOWN: 'a record on a change topic that carve did not write',
  COPY_STATE_INCONSISTENT: 'needs state edited by hand',
  DEMO_BAD_SEED: 'library only: the CLI refuses a bad --seed first (USAGE)',
  DEMO_SCHEMA_MISSING: 'library only: the CLI creates the schema and stops at DEMO_SCHEMA_EXISTS (tested)',
  DEMO_SCHEMA_NOT_EMPTY: 'library only: the CLI creates the schema and stops at DEMO_SCHEMA_EXISTS (tested)',
  DEMO_SEED_COUNT_MISMATCH:
    'a check of the generator itself: each slice is one INSERT … SELECT over generate_series into tables the seed just created',
  KAFKA_JARS_MISSING: 'test and bench harness (src/cluster), not a carve command',
  KAFKA_START_FAILED: 'test and bench harness (src/cluster), not a carve command',
  NATS_START_FAILED: 'test and bench harness (src/cluster), not a carve command',
  PG_BINARIES_NOT_FOUND: 'throwaway clusters of carve demo and the tests, not a migration',
  PG_INITDB_FAILED: 'throwaway clusters of carve demo and the tests: initdb itself failing',
  PG_OS_USER: 'throwaway clusters of carve demo and the tests, not a migration',
  PG_START_FAILED: 'throwaway clusters of carve demo and the tests: the server failing to start',
  REPLICATION_CONCURRENT_READ: 'a programming error: two reads on one replication stream',
  REPLICATION_FAILED:
    'an error inside the replication layer with neither a SQLSTATE nor a known network errno (those are REPLICATION_SERVER_ERROR, REPLICATION_CONNECTION_LOST): a bug in carve, no CLI path reaches it',
  SYNC_BINARY_VALUE: 'stream contents carve never asks for (binary values): a server mismatch only',
  SYNC_HOLD_ACTIVE: 'library misuse: a hold not released',
  SYNC_SEQUENCES_FAILED: 'reported as an event while sync goes on',
  SYNC_SINK_DUPLICATE: 'library misuse: two sinks of one name',
  SYNC_STATE_MISMATCH: 'an internal consistency check of the state tables',
  SYNC_STOPPED: 'an internal incomplete state, not a hint to follow',
  SYNC_STREAM_ENDED: 'retried internally (the stream reconnects)',
  SYNC_UNEXPECTED_TOAST: 'stream contents a consistent server does not send',
  SYNC_UNSUPPORTED_MESSAGE: 'a pgoutput message of a protocol version carve does not ask for',
  UNEXPECTED_ERROR: 'the wrapper of an error carve did not foresee (a bug, by definition)',
  VERIFY_KEY_NOT_ROUTED: 'routing always carries the key (projections without it are refused earlier)',
};

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith('.ts') || path.endsWith('.mjs') ? [path] : [];
  });
}

describe('error codes named by tests', () => {
  const root = join(new URL('.', import.meta.url).pathname, '..');
  const self = new URL(import.meta.url).pathname;
  const text = testFiles(root)
    .filter((path) => path !== self)
    .map((path) => readFileSync(path, 'utf8'))
    .join('\n');
  const named = (code: string) => new RegExp(`\\b${code}\\b`).test(text);

  it('names every code of the catalogue, or lists it with a reason', () => {
    const unlisted = Object.keys(errorCatalogue).filter(
      (code) => !named(code) && !(code in NOT_NAMED_BY_A_TEST),
    );
    expect(unlisted, 'codes no test names: trigger each in a test that follows its hint').toEqual([]);
  });

  it('lists only codes that still exist and that no test names yet (the list only shrinks)', () => {
    const stale = Object.keys(NOT_NAMED_BY_A_TEST).filter((code) => !(code in errorCatalogue) || named(code));
    expect(stale, 'remove these from NOT_NAMED_BY_A_TEST').toEqual([]);
  });
});
