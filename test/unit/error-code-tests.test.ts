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
  CONNECTION_FAILED: 'not yet triggered by a test',
  VERIFY_MIGRATION_BUSY: 'not yet triggered by a test',
  EVENTS_PRODUCER_FENCED: 'not yet triggered by a test',
  EVENTS_TOPIC_CREATE: 'not yet triggered by a test',
  APPLY_COLUMN_ADDED: 'not yet triggered by a test',
  APPLY_COLUMN_NOT_PUBLISHED: 'not yet triggered by a test',
  APPLY_EVENT_UNKNOWN: 'a record on a change topic that carve did not write',
  APPLY_NO_EVENTS: 'not yet triggered by a test',
  APPLY_TABLE_NOT_PUBLISHED: 'not yet triggered by a test',
  APPLY_UNKNOWN_SERVICE: 'not yet triggered by a test',
  BACKUP_CHECK_FAILED: 'not yet triggered by a test',
  BACKUP_DUMP_FAILED: 'not yet triggered by a test',
  BACKUP_PG_DUMP_TOO_OLD: 'not yet triggered by a test',
  COMPLETE_NAME_TOO_LONG: 'not yet triggered by a test',
  COPY_SLOT_LOST: 'not yet triggered by a test',
  COPY_STATE_INCONSISTENT: 'not yet triggered by a test',
  CUTOVER_BUSY: 'not yet triggered by a test',
  CUTOVER_COMPLETED: 'not yet triggered by a test',
  CUTOVER_COPY_UNFINISHED: 'not yet triggered by a test',
  CUTOVER_DRAIN_TIMEOUT: 'not yet triggered by a test',
  CUTOVER_LAG_TOO_HIGH: 'not yet triggered by a test',
  CUTOVER_MIGRATION_BUSY: 'not yet triggered by a test',
  CUTOVER_OTHER_SERVICE_IN_PROGRESS: 'not yet triggered by a test',
  CUTOVER_ROLLBACK_UNFINISHED: 'not yet triggered by a test',
  CUTOVER_SLOT_UNHEALTHY: 'not yet triggered by a test',
  CUTOVER_SWITCH_FAILED: 'not yet triggered by a test',
  DEMO_BAD_SEED: 'not yet triggered by a test',
  DEMO_SCHEMA_MISSING: 'not yet triggered by a test',
  DEMO_SCHEMA_NOT_EMPTY: 'not yet triggered by a test',
  DEMO_SEED_ABORTED: 'not yet triggered by a test',
  DEMO_SEED_COUNT_MISMATCH: 'not yet triggered by a test',
  DEMO_SEED_FAILED: 'not yet triggered by a test',
  KAFKA_JARS_MISSING: 'test and bench harness (src/cluster), not a carve command',
  KAFKA_START_FAILED: 'test and bench harness (src/cluster), not a carve command',
  NATS_START_FAILED: 'test and bench harness (src/cluster), not a carve command',
  OBSERVE_OUT_DIR: 'not yet triggered by a test',
  PG_BINARIES_NOT_FOUND: 'not yet triggered by a test',
  PG_INITDB_FAILED: 'throwaway clusters of carve demo and the tests: initdb itself failing',
  PG_OS_USER: 'not yet triggered by a test',
  PG_START_FAILED: 'throwaway clusters of carve demo and the tests: the server failing to start',
  POST_LOAD_FAILED: 'not yet triggered by a test',
  PROVISION_FAILED: 'not yet triggered by a test',
  PROVISION_SECRETS_DIR: 'not yet triggered by a test',
  PROVISION_SERVER_VERSION: 'not yet triggered by a test',
  RECOVER_CHECK_FAILED: 'not yet triggered by a test',
  REPLICATION_CONCURRENT_READ: 'a programming error: two reads on one replication stream',
  REPLICATION_ENCODING_UNSUPPORTED: 'not yet triggered by a test',
  REPLICATION_FAILED: 'not yet triggered by a test',
  REPLICATION_SLOT_WRONG_DATABASE: 'not yet triggered by a test',
  REPLICATION_SLOT_WRONG_PLUGIN: 'not yet triggered by a test',
  RESYNC_BUSY: 'not yet triggered by a test',
  RESYNC_COPY_FAILED: 'not yet triggered by a test',
  RESYNC_UNKNOWN_TABLE: 'not yet triggered by a test',
  REVERSE_SLOT_MISSING: 'not yet triggered by a test',
  REVERSE_TABLE_MISSING: 'not yet triggered by a test',
  ROLLBACK_VERIFY_FAILED: 'not yet triggered by a test',
  SERVE_ACTION_UNAVAILABLE: 'not yet triggered by a test',
  SERVE_TOKEN_FILE: 'not yet triggered by a test',
  SOURCE_NO_REPLICATION: 'not yet triggered by a test',
  SYNC_BINARY_VALUE: 'not yet triggered by a test',
  SYNC_COPY_UNFINISHED: 'not yet triggered by a test',
  SYNC_HOLD_ACTIVE: 'not yet triggered by a test',
  SYNC_HOLD_TIMEOUT: 'not yet triggered by a test',
  SYNC_NO_SINK: 'library misuse: startSync without appliers or sinks',
  SYNC_ORIGIN_LIMIT: 'not yet triggered by a test',
  SYNC_SEQUENCES_FAILED: 'not yet triggered by a test',
  SYNC_SINK_DUPLICATE: 'library misuse: two sinks of one name',
  SYNC_STATE_MISMATCH: 'an internal consistency check of the state tables',
  SYNC_STOPPED: 'not yet triggered by a test',
  SYNC_STREAM_ENDED: 'not yet triggered by a test',
  SYNC_UNEXPECTED_TOAST: 'not yet triggered by a test',
  SYNC_UNSUPPORTED_MESSAGE: 'not yet triggered by a test',
  TEARDOWN_SLOT_ACTIVE: 'not yet triggered by a test',
  UNEXPECTED_ERROR: 'the wrapper of an error carve did not foresee (a bug, by definition)',
  VERIFY_COLUMN_MISSING: 'not yet triggered by a test',
  VERIFY_HOLD_TIMEOUT: 'not yet triggered by a test',
  VERIFY_KEY_NOT_ROUTED: 'not yet triggered by a test',
  VERIFY_NO_POSITION: 'not yet triggered by a test',
  VERIFY_TABLE_MISSING: 'not yet triggered by a test',
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
