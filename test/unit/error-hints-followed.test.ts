import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../src/error-catalogue.js';

/**
 * Issue 10 is done when every error code a user can reach has a hint that was followed in a test:
 * the test triggers the code, does what the hint says, and asserts that the command (or the one the
 * hint names) then succeeds. error-code-tests.test.ts checks only that a test NAMES each code; this
 * file records, per code, WHICH test files follow its hint, so the claim can be checked: a mapped
 * file that does not name its code fails here.
 *
 * Each entry is one of
 *  - followed: the test files (under test/) that trigger the code and follow its hint;
 *  - nothingToDo: the hint says there is nothing to do, or names something no test can do (a newer
 *    release, a new migration); named: the test files that trigger it and check that hint;
 *  - internal: why no user meets it (a library misuse, a stream a server does not send, a check an
 *    earlier one always pre-empts); named: the test files that trigger it;
 *  - notYet ('hint not yet followed'): a reachable code whose hint no test follows yet (the gap,
 *    kept visible). None is left: every code below is followed, or says why it cannot be.
 *
 * The codes here are the ones a test named when this list was made; codes other tests name later
 * are added here as their hints are followed.
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
  SYNC_SLOT_LOST: { followed: ['integration/status-slot.test.ts'] },
  SYNC_SLOT_MISSING: { followed: ['integration/error-hints-followed.test.ts'] },
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
};

const root = join(new URL('.', import.meta.url).pathname, '..');
const filesOf = (entry: Entry): string[] => ('followed' in entry ? entry.followed : entry.named);
const names = (file: string, code: string): boolean =>
  existsSync(join(root, file)) && new RegExp(`\\b${code}\\b`).test(readFileSync(join(root, file), 'utf8'));

describe('error hints followed in tests (issue 10)', () => {
  it('maps only codes of the catalogue', () => {
    expect(Object.keys(HINTS).filter((code) => !(code in errorCatalogue))).toEqual([]);
  });

  it('every mapped test file exists and names its code', () => {
    const wrong = Object.entries(HINTS).flatMap(([code, entry]) => {
      const files = filesOf(entry);
      if (files.length === 0) return [`${code}: no test file`];
      return files.filter((file) => !names(file, code)).map((file) => `${code}: ${file}`);
    });
    expect(wrong, 'a mapped test file must trigger (and name) its code').toEqual([]);
  });

  it('says why for every code not followed', () => {
    const silent = Object.entries(HINTS).filter(
      ([, e]) => ('nothingToDo' in e && !e.nothingToDo) || ('internal' in e && !e.internal),
    );
    expect(silent).toEqual([]);
  });
});
