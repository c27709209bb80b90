import type { PlanProblem } from './plan/problems.js';
import type { MigrationLockHolder } from './state/migration-lock.js';

/**
 * Every code a CarveError can carry, in one place: its exit category (what `carve` exits with
 * when a command fails with it) and, where callers read them, the type of its `details`.
 *
 * Adding a code is one entry below, in its area's block:
 *
 *     MY_NEW_CODE: failed('What went wrong, in one line.'),
 *     MY_TYPED_CODE: usage<{ file: string }>('…'),   // details typed: callers may read them
 *
 * The exit category is the helper's name: failed (1), usage (2), incomplete (3), mismatch (4)
 * (src/cli/exit.ts). Without a type argument, details are free-form (Record<string, unknown>):
 * give one as soon as any code outside the thrower reads a field, so it reads it without a cast.
 * Codes are stable: tests, scripts and `--json` consumers match on them, never on messages.
 */

/** How a command that fails with a code exits (src/cli/exit.ts maps these to numbers). */
export type ExitCategory = 'failed' | 'usage' | 'incomplete' | 'mismatch';

/** Free-form details: the objects involved, for people and logs; nobody branches on them. */
export type GenericDetails = Record<string, unknown>;

/** One catalogue entry. `details` exists only in the type (it carries the details' type). */
export interface CodeSpec<D extends object = GenericDetails> {
  readonly exit: ExitCategory;
  /** What the code means, in one line (docs and `--json` consumers). */
  readonly means: string;
  readonly details?: D;
}

const failed = <D extends object = GenericDetails>(means: string): CodeSpec<D> => ({ exit: 'failed', means });
const usage = <D extends object = GenericDetails>(means: string): CodeSpec<D> => ({ exit: 'usage', means });
const incomplete = <D extends object = GenericDetails>(means: string): CodeSpec<D> => ({
  exit: 'incomplete',
  means,
});

/** Where a connection went: says which URL to check and which command fixes what. */
export type ConnectionEndpoint = 'monolith' | 'service' | 'server' | 'database';

/** Details of every CONNECTION_* code: where carve tried to connect, never with the password. */
export type ConnectionDetails = {
  endpoint: ConnectionEndpoint;
  host: string;
  port: number;
  database: string;
  user: string;
  /** The server's SQLSTATE, when the server answered. */
  sqlState: string | null;
  /** The operating system's error code (ECONNREFUSED, ENOTFOUND …), when the socket failed. */
  errno: string | null;
};

/**
 * Who a carve wait is waiting for, so that a timeout can name it: a session an operator can find
 * (its pid) and end. Read from pg_stat_activity when a wait ran out, never on the normal path
 * (src/pg/wait-blockers.ts); declared here with the other details types, so the catalogue imports
 * no engine.
 */
export interface WaitBlocker {
  pid: number;
  database: string | null;
  user: string | null;
  application: string | null;
  state: string | null;
  /** How long its transaction has been open (seconds), if it is in one. */
  transactionSeconds: number | null;
  /** When its current (or, idle, its last) statement started, UTC ISO 8601. */
  queryStart: string | null;
}

/** The blockers of a timed-out wait, what to do about them, and the sessions themselves. */
export interface WaitDetails {
  timeoutMs: number;
  /** What ends the wait, as an imperative ("End … (pid 123 …): …"); hints add what to run next. */
  action: string;
  blockers: WaitBlocker[];
}

/**
 * An object in a service database that carve did not create and whose code a service role could
 * control (src/sync/target-guard.ts finds them): the details of TARGET_FOREIGN_OBJECT. Declared
 * here, with the other details types, so the catalogue imports no engine and the library's public
 * types do not reach pg's.
 */
export interface ForeignObject {
  /** `schema.table` the object sits on. */
  table: string;
  kind:
    | 'trigger'
    | 'rule'
    | 'policy'
    | 'row-level security'
    | 'constraint'
    | 'default'
    | 'index'
    | 'column type'
    | 'view'
    | 'materialized view'
    | 'foreign table'
    | 'relation';
  /** The trigger, rule, policy, constraint or index; the column for defaults and column types. */
  name: string;
  /** Role owning the code involved, when there is one. */
  owner: string | null;
  /** The statement that removes it (run as the service role or the admin). */
  fix: string;
}

export const errorCatalogue = {
  // Command line and unexpected failures
  USAGE: usage('A command-line option is missing, malformed, or conflicts with another.'),
  UNEXPECTED_ERROR: failed(
    'A failure carve did not classify (a bug: please report it with CARVE_DEBUG=1 output).',
  ),

  // Plan
  PLAN_INVALID: usage<{ file: string | undefined; problems: PlanProblem[] }>(
    'The plan has problems (all listed in details.problems); nothing was written.',
  ),
  PLAN_UNREADABLE: usage('The plan file cannot be read.'),

  // Connections (src/pg/connection-error.ts classifies them by SQLSTATE and errno)
  CONNECTION_AUTH_FAILED: failed<ConnectionDetails>(
    'The server rejected the user or password (28P01, 28000).',
  ),
  CONNECTION_REFUSED: failed<ConnectionDetails>('Nothing accepts connections at that host and port.'),
  CONNECTION_UNKNOWN_HOST: failed<ConnectionDetails>(
    'The host name does not resolve (ENOTFOUND, EAI_AGAIN).',
  ),
  CONNECTION_DATABASE_MISSING: failed<ConnectionDetails>(
    'The database does not exist on that server (3D000).',
  ),
  CONNECTION_PERMISSION_DENIED: failed<ConnectionDetails>(
    'The user may not connect to that database (42501).',
  ),
  CONNECTION_TIMEOUT: failed<ConnectionDetails>('The server did not answer within the connect timeout.'),
  CONNECTION_TOO_MANY: failed<ConnectionDetails>('The server refuses more connections (53300).'),
  CONNECTION_FAILED: failed<ConnectionDetails>('Connecting failed for another reason (kept in the message).'),
  CONNECTION_LOST: failed<ConnectionDetails>(
    'An open connection broke (server restart, terminated backend, network).',
  ),

  // Monolith (source)
  SOURCE_WAL_LEVEL: failed('The monolith does not run with wal_level = logical.'),
  SOURCE_NO_REPLICATION: failed('The monolith user has neither REPLICATION nor SUPERUSER.'),
  PUBLICATION_FOR_ALL_TABLES: failed("The migration's publication publishes all tables."),
  MIGRATION_LOCKED: failed<{ migration: string; holder: MigrationLockHolder | null }>(
    'Another carve command is working on this migration.',
  ),

  // carve's state schema in the service databases (src/state/state-schema.ts)
  STATE_SCHEMA_TOO_NEW: failed('A newer carve upgraded the state schema; run that version.'),

  // Provision
  PROVISION_CONFLICT: failed('The target already holds objects that differ from the plan.'),
  PROVISION_FAILED: failed('Creating a service database, role or object failed.'),
  PROVISION_PASSWORD_ENV: failed('A role password variable named in the plan is not set.'),
  PROVISION_SECRETS_DIR: failed('A role password file cannot be written.'),
  PROVISION_SERVER_VERSION: failed(
    "The target server runs PostgreSQL older than 15 (carve's roles need GRANT SET ON PARAMETER).",
  ),
  POST_LOAD_FAILED: failed('Creating an index or foreign key after the load failed.'),
  UNKNOWN_SERVICE: failed('No service of that name in the plan.'),
  TARGET_NOT_PROVISIONED: failed('A service database or table is missing: run carve provision.'),
  TARGET_PASSWORD_ENV: failed('A `carve_password_env` variable named in the plan is not set.'),
  TARGET_FOREIGN_OBJECT: failed<{ database: string; role: string; objects: ForeignObject[] }>(
    "A service database's table carries code carve did not create (docs/security.md); details.objects lists each with the statement that removes it.",
  ),

  // Copy
  COPY_ALREADY_STARTED: failed('A copy of this migration was already started into these databases.'),
  COPY_SLOT_EXISTS: failed("The migration's replication slot exists but no target records it."),
  COPY_SLOT_NOT_OURS: failed<{ slot: string; doubts: string[] }>(
    "copy --resume with empty targets: the migration's slot exists but carve copy did not create it (another plugin, database, in use, or older than copy's claim); it is left alone.",
  ),
  COPY_SLOT_LOST: failed('The replication slot of an unfinished copy is gone.'),
  COPY_STATE_INCONSISTENT: failed('Target databases record different runs of the migration.'),
  COPY_TARGET_NOT_EMPTY: failed('Target tables already hold rows.'),

  // Sync
  SYNC_APPLY_FAILED: failed('Applying changes to a service database failed.'),
  SYNC_BINARY_VALUE: failed('A binary-format value arrived in the text-format stream.'),
  SYNC_COPY_UNFINISHED: failed('The copy into a service database has not finished.'),
  SYNC_HOLD_ACTIVE: failed('Sync is already held at another position.'),
  SYNC_HOLD_PASSED: failed('A target already applied changes past the requested hold.'),
  SYNC_HOLD_TIMEOUT: failed<WaitDetails & { waiting: string[]; lsn?: string }>(
    'No running carve sync reached the hold in time.',
  ),
  SYNC_NOT_COPIED: failed('A service database has no copy of this migration.'),
  SYNC_ORIGIN_BUSY: failed('A replication origin is still held by an earlier session (retried on its own).'),
  SYNC_ORIGIN_LIMIT: failed('The server has no free replication origin slot (max_replication_slots).'),
  SYNC_ORIGIN_PRIVILEGE: failed('The applier role may not use replication origins (EXECUTE grants missing).'),
  SYNC_SEQUENCES_FAILED: failed(
    'Moving target sequences forward failed (reported as an event; sync continues).',
  ),
  SYNC_SCHEMA_CHANGED: failed('A routed table changed on the monolith; streaming stopped.'),
  SYNC_SINK_DUPLICATE: failed('Two sinks of one sync engine have the same name.'),
  SYNC_SINK_FAILED: failed('A sink (a destination of the stream other than the appliers) failed.'),
  SYNC_NO_SINK: usage(
    'Sync without in-process appliers was asked for, but the plan configures no other sink.',
  ),
  SYNC_SLOT_LOST: failed('The replication slot lost WAL it needed.'),
  SYNC_SLOT_MISSING: failed('The replication slot does not exist on the monolith.'),
  SYNC_STATE_MISMATCH: failed('A service database records another slot than the plan names.'),
  SYNC_STOPPED: incomplete('Sync stopped before it got where it was asked to; run it again to continue.'),
  SYNC_STREAM_ENDED: failed('The replication stream ended (retried on its own).'),
  SYNC_TARGET_PRIVILEGE: failed('The service database connection lacks the rights sync needs.'),
  SYNC_TARGET_BEHIND_SLOT: failed(
    "A service database's applied position is behind the slot's: applying it in process would skip changes (they were acknowledged by a sync that did not apply it).",
  ),
  SYNC_UNEXPECTED_TOAST: failed('An insert left a column out (unchanged TOAST) where none can be.'),
  SYNC_UNROUTED_TABLE: failed('Changes of a table the plan does not route arrived.'),
  SYNC_UNSUPPORTED_MESSAGE: failed('The stream sent a pgoutput message carve does not apply.'),

  // Reverse streams: a cut-over service's database back into the monolith (src/reverse)
  REVERSE_DROPPED_NOT_NULL: failed<{
    service: string;
    database: string;
    columns: { table: string; column: string }[];
  }>(
    'A column the plan drops is NOT NULL without default on the monolith: rows inserted in the service could not reach it.',
  ),
  REVERSE_TABLE_MISSING: failed('A table the service owns is missing in its database.'),
  REVERSE_NOT_REGISTERED: failed('The service has no reverse stream (prepareReverse / cutover sets it up).'),
  REVERSE_TARGET_BEHIND_SLOT: failed<{
    service: string;
    database: string;
    slot: string;
    appliedLsn: string;
    slotLsn: string;
  }>(
    "The monolith's position of a reverse stream is behind the service slot's: the commits in between would be skipped.",
  ),
  REVERSE_SLOT_MISSING: failed("A registered reverse stream's slot is gone from the service database."),
  REVERSE_WAIT_TIMEOUT: failed<{ service: string; lsn: string; appliedLsn: string; timeoutMs: number }>(
    'The monolith did not apply the service database up to the position in time.',
  ),

  // Replication protocol (src/pg/replication)
  REPLICATION_ACK_AHEAD: failed('Acknowledging a position beyond what was received.'),
  REPLICATION_CONCURRENT_READ: failed('Two readers on one replication stream.'),
  REPLICATION_CONNECTION_LOST: failed('The replication connection broke (retried on its own).'),
  REPLICATION_ENCODING_UNSUPPORTED: failed('The monolith database is not UTF8.'),
  REPLICATION_ENDED_BY_SERVER: failed('The server ended replication (retried on its own).'),
  REPLICATION_FAILED: failed('Replication failed for a reason that retrying will not fix.'),
  REPLICATION_PROTOCOL_ERROR: failed('A replication message carve cannot parse.'),
  REPLICATION_PUBLICATION_REQUIRED: failed('Streaming needs at least one publication.'),
  REPLICATION_SERVER_ERROR: failed('The server sent an error on the replication connection (SQLSTATE kept).'),
  REPLICATION_SLOT_EXISTS: failed('The replication slot already exists.'),
  REPLICATION_SLOT_NAME_INVALID: failed('Not a valid replication slot name.'),
  REPLICATION_SLOT_NOT_FOUND: failed('The replication slot does not exist.'),
  REPLICATION_SLOT_WRONG_DATABASE: failed('The replication slot belongs to another database.'),
  REPLICATION_SLOT_WRONG_PLUGIN: failed('The replication slot is not logical pgoutput.'),
  PGOUTPUT_DECODE_ERROR: failed('A pgoutput message cannot be decoded.'),
  PGOUTPUT_UNKNOWN_RELATION: failed('A change arrived before its Relation message.'),
  LSN_INVALID: failed('Not a WAL position (LSN).'),
  LSN_OUT_OF_RANGE: failed('A WAL position outside 0 … 2^64-1.'),

  // Resync (src/resync)
  RESYNC_UNKNOWN_TABLE: usage(
    'carve resync --table names no moving table of the plan (or an ambiguous one).',
  ),
  RESYNC_BUSY: failed('Another carve resync of the same table is running.'),
  RESYNC_COPY_FAILED: failed('Copying the table at its new snapshot failed; a rerun starts over.'),
  RESYNC_SNAPSHOT_TIMEOUT: failed<WaitDetails>(
    "resync's snapshot waited longer than --timeout for transactions open on the monolith before it; nothing was re-created.",
  ),

  // Verify
  VERIFY_ABORTED: incomplete('verify was interrupted; run it again with --resume.'),
  VERIFY_COLUMN_MISSING: failed('A routed column does not exist on one side.'),
  VERIFY_HOLD_TIMEOUT: failed<WaitDetails>('A target did not reach the verify point in time.'),
  VERIFY_KEY_NOT_ROUTED: failed('A route does not carry its key column.'),
  VERIFY_MIGRATION_BUSY: failed<{ migration: string; holder: MigrationLockHolder | null }>(
    'Another carve command (not sync) works on the migration.',
  ),
  VERIFY_NO_POSITION: failed('A target records no applied position, or the slot is gone.'),
  VERIFY_SNAPSHOT_TIMEOUT: failed<WaitDetails>(
    "The monolith snapshot waited too long for transactions open before it (--hold-timeout, cutover's --timeout).",
  ),
  VERIFY_SLOT_LOST: failed("The migration's slot is gone or lost WAL: the stream cannot resume."),
  VERIFY_TABLE_MISSING: failed('A routed table does not exist on one side.'),
  VERIFY_TARGETS_BEHIND: failed('No carve sync runs and the targets lack committed changes.'),
  VERIFY_UNKNOWN_TABLE: failed('--tables names a table the plan does not route.'),

  // Change events on Kafka and carve apply (src/events)
  EVENTS_BROKER_UNAVAILABLE: failed<{ brokers: string[] }>(
    'The Kafka brokers or NATS servers did not answer (transient: sync and apply retry, the slot holds the WAL).',
  ),
  EVENTS_BEHIND_SLOT: failed<{
    sink: string;
    checkpointTopic: string;
    checkpointLsn: string;
    slot: string;
    slotLsn: string;
  }>(
    "The Kafka publisher's checkpoint is behind the slot's position: the changes in between were acknowledged without being published.",
  ),
  EVENTS_NATS_STREAM: failed<{ stream: string; subject: string }>(
    'The JetStream stream named in events.nats cannot hold the events.',
  ),
  EVENTS_PRODUCER_FENCED: failed<{ brokers: string[] }>(
    'Another carve publishes the events of this migration (its transactional producer fenced this one).',
  ),
  EVENTS_TRANSACTION_HANGING: failed<{
    partitions: { topic: string; partition: number; startOffset: string }[];
  }>(
    "A Kafka transaction of carve's snapshot publisher stays open on its partitions after its producer was fenced (the broker lost its markers).",
  ),
  EVENTS_TOPIC_CREATE: failed<{ topic: string }>(
    'The broker refused to create a Kafka topic carve publishes to (replication factor, permission).',
  ),
  APPLY_UNKNOWN_SERVICE: usage('carve apply --service names no service of the plan.'),
  APPLY_NO_EVENTS: usage('carve apply --from kafka needs events.kafka in the plan.'),
  APPLY_TABLE_NOT_PUBLISHED: failed(
    'A table that feeds the service database is not published (events.tables).',
  ),
  APPLY_COLUMN_NOT_PUBLISHED: failed(
    'A column that reaches the service database is not in the events (the plan drops it).',
  ),
  APPLY_COLUMN_ADDED: failed(
    'Events carry a column added on the monolith since carve apply started (it reads the columns at start).',
  ),
  APPLY_EVENT_UNKNOWN: failed(
    'An event of a kind this carve does not know (published by another carve version).',
  ),

  // Teardown
  TEARDOWN_SLOT_ACTIVE: failed('The replication slot is in use by a running process.'),
  TEARDOWN_SERVICE_CUT_OVER: failed(
    'teardown: a service is cut over (or cutting over, rolling back): its reverse stream runs only with the slot.',
  ),

  // Emergency paths: carve backup and carve recover (src/backup, src/recover)
  BACKUP_OUT_NOT_EMPTY: usage('carve backup --out names a directory that exists and is not empty.'),
  BACKUP_PG_DUMP_MISSING: failed('pg_dump or pg_restore cannot be run.'),
  BACKUP_PG_DUMP_TOO_OLD: failed("pg_dump is older than the monolith's PostgreSQL major version."),
  BACKUP_NOT_READABLE: failed("carve's monolith user may not read a moving table (nothing was dumped)."),
  BACKUP_DUMP_FAILED: failed('pg_dump exited with an error (the incomplete backup was removed).'),
  BACKUP_CHECK_FAILED: failed('pg_restore --list cannot read the dump, or a moving table is missing in it.'),
  RECOVER_UNKNOWN_SERVICE: usage('carve recover --service names no service of the plan.'),
  RECOVER_REVERSE_RUNNING: failed(
    "The service's reverse replication origin is in use: a reverse stream or another recover runs.",
  ),
  RECOVER_REPLICA_ROLE_DENIED: failed(
    "carve's monolith user may not set session_replication_role (needed to pass the cutover freeze).",
  ),
  RECOVER_CONSTRAINT_VIOLATION: failed(
    "The service's rows break a constraint the monolith has (unique, check): nothing was committed.",
  ),
  RECOVER_CHECK_FAILED: failed(
    "After the upserts and deletes the monolith's rows still differ from the service's: nothing was committed.",
  ),

  // Cutover, rollback, complete, cancel (src/cutover; docs/cutover.md)
  CUTOVER_UNKNOWN_SERVICE: usage('--service names no service of the plan, or one that owns no tables.'),
  CUTOVER_BUSY: failed('Another cutover, rollback, complete or cancel of the migration is running.'),
  CUTOVER_MIGRATION_BUSY: failed(
    'A carve command other than sync holds the migration: cutover cannot stream.',
  ),
  CUTOVER_OTHER_SERVICE_IN_PROGRESS: failed(
    'Another service is cutting over or rolling back (a killed command left its tables frozen).',
  ),
  CUTOVER_COPY_UNFINISHED: failed('Pre-check: the copy is not finished.'),
  CUTOVER_SLOT_UNHEALTHY: failed('Pre-check: the replication slot is missing or losing WAL.'),
  CUTOVER_PRECHECK_TIMEOUT: failed<WaitDetails & { cause: string }>(
    'Pre-check: verify could not read both sides at one point within --timeout (a long transaction, a stuck sync); nothing was frozen.',
  ),
  CUTOVER_LAG_TOO_HIGH: failed('Pre-check: the service database lags the monolith by more than --max-lag.'),
  CUTOVER_VERIFY_FAILED: failed(
    "Verify of the service's tables found differences (before the freeze, or at the drain point: then the freeze was undone).",
  ),
  CUTOVER_FREEZE_LOCK_TIMEOUT: failed('The tables could not be locked for the freeze within the timeout.'),
  CUTOVER_DRAIN_TIMEOUT: failed(
    'The service database did not reach the drain point within --timeout; the freeze was undone.',
  ),
  CUTOVER_COMPLETED: failed('The service was already cut over and completed.'),
  CUTOVER_ROLLBACK_UNFINISHED: failed('A rollback of the service is unfinished.'),
  CUTOVER_SWITCH_FAILED: failed(
    'The --on-switch command failed (after the point of no return; rerun cutover).',
  ),
  ROLLBACK_NOT_CUT_OVER: failed('rollback: the service was not cut over.'),
  ROLLBACK_COMPLETED: failed('rollback: the service was completed; its reverse stream is gone.'),
  ROLLBACK_VERIFY_FAILED: failed(
    "rollback: the monolith's copy differs from the service's tables; both stay frozen.",
  ),
  COMPLETE_NOT_CUT_OVER: failed('complete: the service is not (fully) cut over.'),
  COMPLETE_NAME_TOO_LONG: failed('complete --rename-source-tables: a new name would be over 63 bytes.'),
  CANCEL_SERVICE_CUT_OVER: failed('cancel: a service is cut over, rolling back or completed.'),

  // Observe: metrics, alert files, carve serve (src/observe)
  OBSERVE_LISTEN_FAILED: failed<{ host: string; port: number; errno: string | null }>(
    'The metrics or dashboard server cannot listen on that host and port.',
  ),
  OBSERVE_OUT_DIR: failed('carve alerts cannot write its files into the output directory.'),
  SERVE_TOKEN_FILE: failed('The dashboard token file cannot be read or written.'),
  SERVE_ACTION_UNAVAILABLE: failed(
    'A dashboard started without actions (startDashboardServer without `actions`) was asked to cut over or roll back.',
  ),

  // Demo
  DEMO_BAD_SCALE: usage('The demo scale is out of range.'),
  DEMO_BAD_SEED: usage('The demo seed is not an integer.'),
  DEMO_LOAD_BAD_MIX: usage('The demo operation mix is invalid.'),
  DEMO_LOAD_BAD_OPTIONS: usage('The demo load options are invalid.'),
  DEMO_LOAD_NOT_SEEDED: failed('The monolith holds no CareSync data to write against.'),
  DEMO_SCHEMA_EXISTS: failed('The CareSync schema already exists in that database.'),
  DEMO_SCHEMA_MISSING: failed('CareSync tables are missing.'),
  DEMO_SCHEMA_NOT_EMPTY: failed('CareSync tables already hold rows.'),
  DEMO_SEED_ABORTED: incomplete('Seeding was interrupted.'),
  DEMO_SEED_COUNT_MISMATCH: failed('A seeded table holds another number of rows than generated.'),
  DEMO_SEED_FAILED: failed('Generating demo rows failed.'),

  // Local clusters (demo and tests)
  PG_BINARIES_NOT_FOUND: failed('No PostgreSQL server binaries found.'),
  PG_INITDB_FAILED: failed('initdb failed.'),
  PG_OS_USER: failed('The OS user that runs the server cannot be found or created.'),
  PG_START_FAILED: failed('A local PostgreSQL server did not start.'),
  KAFKA_JARS_MISSING: failed('The Kafka broker jars are not cached and mvn could not fetch them.'),
  KAFKA_START_FAILED: failed('A local Kafka broker did not start.'),
  NATS_START_FAILED: failed('A local nats-server did not start.'),
};

export type CarveErrorCode = keyof typeof errorCatalogue;

/** The details type of a code: typed where the catalogue gives one, free-form otherwise. */
export type ErrorDetails<C extends CarveErrorCode> = C extends CarveErrorCode
  ? (typeof errorCatalogue)[C] extends CodeSpec<infer D>
    ? D
    : GenericDetails
  : never;

/** Codes whose details are free-form (any code not given a details type above). */
export type GenericDetailsCode = {
  [C in CarveErrorCode]: GenericDetails extends ErrorDetails<C> ? C : never;
}[CarveErrorCode];

/** The exit category of a code. */
export function exitCategoryOf(code: CarveErrorCode): ExitCategory {
  return errorCatalogue[code].exit;
}

export function isCarveErrorCode(code: string): code is CarveErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}
