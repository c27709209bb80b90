import { CarveError } from '../errors.js';
import { atMonolith, atService, openSession, withSession, type Client } from '../pg/connect.js';
import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';
import { assertSlotName } from '../pg/replication/commands.js';
import { dropPublication, ensurePublication } from '../pg/replication/publication.js';
import { SqlState, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { ensureMonolithSchema } from '../state/monolith-schema.js';
import { HEARTBEAT_PREFIX } from '../sync/source-control.js';
import { reverseStreamName } from './names.js';
import { checkReversePreconditions } from './preflight.js';
import { findService, ownedRoutes } from './reverse-routing.js';
import { reverseSlotMissing } from './slot-missing.js';
import { ReverseRegistry } from './state.js';

export { ReverseEngine, startReverseSync } from './reverse-engine.js';
export { runBesideForward } from './beside-forward.js';
export type { ReverseSyncOptions } from './options.js';
export type { ReverseEvent, ReverseLag, ReverseResult } from './events.js';
export { reverseStreamName } from './names.js';
export { checkReversePreconditions } from './preflight.js';
export { lostReverseSlotHint } from './slot-missing.js';

/**
 * The reverse stream of a cut-over service: the writes the service makes in its own database flow
 * back into the monolith, so the monolith stays complete and current and a rollback loses nothing
 * (docs/reverse.md). Library code: never prints, never exits.
 *
 *   const { startLsn } = await prepareReverse(routing, 'patient');   // slot, publication, registration
 *   // … a running `carve sync` (startReverseSync) picks the registration up within a second
 *   await waitReverseApplied(routing, 'patient', lsnInServiceDb, 30_000);
 *   await dropReverse(routing, 'patient');
 */
export interface PreparedReverse {
  slot: string;
  publication: string;
  /** The service database's position the stream starts at (the slot's consistent point). */
  startLsn: string;
}

/**
 * Set up the reverse stream of `service` (a service name of the plan, or its database), idempotent:
 * on the service database a publication of the tables the service OWNS (not the projections placed
 * there, not carve's state) and a logical slot (pgoutput), both as the admin; on the monolith,
 * carve's schema (monolith-schema.ts) and the stream's registration with its starting position, so
 * that a running `carve sync` starts streaming it. Refuses first (REVERSE_DROPPED_NOT_NULL) when
 * a row inserted in the service could not be inserted into the monolith.
 *
 * Every transaction the service database commits after the returned startLsn reaches the monolith.
 * Run again, it changes nothing and returns the same names and position.
 */
export async function prepareReverse(routing: Routing, serviceName: string): Promise<PreparedReverse> {
  const service = findService(routing, serviceName);
  checkReversePreconditions(routing, service);
  const { names } = routing;
  const name = reverseStreamName(names.migration, service);
  assertSlotName(name);
  const registry = new ReverseRegistry(names.stateSchema, names.migration);
  const existing = await withSession(atMonolith(routing.sourceUrl), async (client) => {
    await ensureMonolithSchema(client, names.stateSchema);
    return registry.read(client, service.name);
  });
  const tables = ownedRoutes(routing, service).map((r) => r.target);
  const startLsn = await withSession(atService(service.adminUrl), async (client) => {
    // The publication first: the slot decodes with the catalog as of each change, and a
    // publication created after the slot would be missing for the changes in between.
    await ensurePublication(client, name, tables);
    const slot = await client.query(
      `SELECT confirmed_flush_lsn::text AS lsn, plugin FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
      [name],
    );
    if (slot.rows[0]) return parseLsn(slot.rows[0].lsn);
    if (existing) {
      // Registered with a position in a slot that is gone: the changes since are lost to the
      // stream; a new slot would silently skip them.
      throw reverseSlotMissing(service, name);
    }
    try {
      const created = await client.query(
        `SELECT lsn::text AS lsn FROM pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')`,
        [name],
      );
      return parseLsn(created.rows[0].lsn);
    } catch (error) {
      if (sqlStateOf(error) !== SqlState.duplicateObject) throw error;
      const again = await client.query(
        `SELECT confirmed_flush_lsn::text AS lsn FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
        [name],
      );
      return parseLsn(again.rows[0].lsn);
    }
  });
  const registration = await withSession(atMonolith(routing.sourceUrl), (client) =>
    registry.register(client, {
      service: service.name,
      database: service.database,
      slot: name,
      publication: name,
      startLsn,
    }),
  );
  return {
    slot: registration.slot,
    publication: registration.publication,
    startLsn: formatLsn(registration.startLsn),
  };
}

export interface ReverseStatus {
  service: string;
  database: string;
  /** A reverse stream is registered on the monolith for the service. */
  registered: boolean;
  slot: string;
  publication: string;
  /** Durable in the monolith (service database position); null when not registered. */
  appliedLsn: string | null;
  /** Service commit time (ISO) of the last transaction applied, null before the first. */
  commitTime: string | null;
  /** When the monolith last recorded a position of this stream (ISO), null when not registered. */
  lastActivity: string | null;
  /** Some process streams the slot now (the slot is active). */
  running: boolean;
  /** The slot exists on the service database. */
  slotExists: boolean;
  /** The service database's WAL position and how far the monolith is behind it, bytes. */
  serverLsn: string | null;
  lagBytes: number | null;
}

/** Where the reverse stream of a service stands (for status, cutover and rollback). */
export async function readReverseStatus(routing: Routing, serviceName: string): Promise<ReverseStatus> {
  const service = findService(routing, serviceName);
  const { names } = routing;
  const name = reverseStreamName(names.migration, service);
  const registry = new ReverseRegistry(names.stateSchema, names.migration);
  const { registration, position } = await withSession(atMonolith(routing.sourceUrl), async (client) => ({
    registration: await registry.read(client, service.name),
    position: await registry.position(client, service.name),
  }));
  const slot = await withSession(atService(service.adminUrl), async (client) => {
    const { rows } = await client.query(
      `SELECT s.active, pg_catalog.pg_current_wal_lsn()::text AS server_lsn
         FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = $1`,
      [registration?.slot ?? name],
    );
    return {
      exists: rows[0].active !== null,
      active: rows[0].active === true,
      serverLsn: rows[0].server_lsn,
    };
  });
  const applied = position?.lsn ?? null;
  const serverLsn = parseLsn(slot.serverLsn);
  return {
    service: service.name,
    database: service.database,
    registered: registration !== undefined,
    slot: registration?.slot ?? name,
    publication: registration?.publication ?? name,
    appliedLsn: applied === null ? null : formatLsn(applied),
    commitTime: position?.commitTime ?? null,
    lastActivity: position?.updatedAt ?? null,
    running: slot.active,
    slotExists: slot.exists,
    serverLsn: slot.serverLsn,
    lagBytes: applied === null ? null : serverLsn > applied ? Number(serverLsn - applied) : 0,
  };
}

/**
 * Resolves once the monolith has durably applied every transaction the service database committed
 * before `lsn` (a position in the service database, e.g. its pg_current_wal_lsn() once its tables
 * are frozen), with the applied position. A running reverse stream does the applying; this only
 * waits, and writes a tiny logical message into the service database's WAL now and then so that an
 * idle database still shows the stream a position at or past `lsn`. REVERSE_WAIT_TIMEOUT after
 * `timeoutMs`; REVERSE_NOT_REGISTERED when the service has no reverse stream.
 */
export async function waitReverseApplied(
  routing: Routing,
  serviceName: string,
  lsn: Lsn | string,
  timeoutMs: number,
): Promise<string> {
  const service = findService(routing, serviceName);
  const target = typeof lsn === 'string' ? parseLsn(lsn) : lsn;
  const registry = new ReverseRegistry(routing.names.stateSchema, routing.names.migration);
  const deadline = Date.now() + timeoutMs;
  let lastHeartbeat = 0;
  let applied: Lsn = 0n;
  const monolith = await openMonolith(routing);
  try {
    for (;;) {
      const position = await registry.position(monolith, service.name);
      if (!position) {
        throw new CarveError('REVERSE_NOT_REGISTERED', `${service.name} has no reverse stream`, {
          details: { service: service.name, database: service.database },
          hint: `Set it up first (carve cutover --service ${service.name} does), then wait again.`,
        });
      }
      applied = position.lsn;
      if (applied >= target) return formatLsn(applied);
      if (Date.now() >= deadline) {
        throw new CarveError(
          'REVERSE_WAIT_TIMEOUT',
          `The monolith applied ${service.database} up to ${formatLsn(applied)}, not ${formatLsn(target)}, within ${timeoutMs} ms`,
          {
            details: {
              service: service.name,
              lsn: formatLsn(target),
              appliedLsn: formatLsn(applied),
              timeoutMs,
            },
            hint: `Check that carve sync runs and streams ${service.name}'s reverse stream (carve status), then try again with a longer timeout.`,
          },
        );
      }
      if (Date.now() - lastHeartbeat >= 1000) {
        lastHeartbeat = Date.now();
        await withSession(atService(service.adminUrl), (client) =>
          client.query(`SELECT pg_catalog.pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX]),
        ).catch(() => {});
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await monolith.end().catch(() => {});
  }
}

/**
 * Remove the reverse stream of a service, idempotent: first its registration (a running sync stops
 * streaming it within a second), then the slot (waiting for that walsender to let go) and the
 * publication on the service database. carve's replication origin on the monolith stays (it holds
 * no WAL; the next prepareReverse reuses it). Returns what was there.
 */
export async function dropReverse(
  routing: Routing,
  serviceName: string,
  options: { timeoutMs?: number } = {},
): Promise<{ registration: boolean; slot: boolean; publication: boolean }> {
  const service = findService(routing, serviceName);
  const { names } = routing;
  const registry = new ReverseRegistry(names.stateSchema, names.migration);
  const registration = await withSession(atMonolith(routing.sourceUrl), (client) =>
    registry.unregister(client, service.name),
  );
  const name = reverseStreamName(names.migration, service);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  return withSession(atService(service.adminUrl), async (client) => {
    let slot = false;
    for (;;) {
      try {
        const { rows } = await client.query(
          `SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
          [name],
        );
        slot = rows.length > 0;
        break;
      } catch (error) {
        // Still streamed by a sync that has not yet seen the registration go.
        if (sqlStateOf(error) !== SqlState.objectInUse || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const publication = await dropPublication(client, name);
    return { registration, slot, publication };
  });
}

/** Every reverse stream registered on the monolith for the migration (service names). */
export async function listReverseStreams(routing: Routing): Promise<string[]> {
  const registry = new ReverseRegistry(routing.names.stateSchema, routing.names.migration);
  const rows = await withSession(atMonolith(routing.sourceUrl), (client) => registry.list(client));
  return rows.map((r) => r.service);
}

function openMonolith(routing: Routing): Promise<Client> {
  return openSession(atMonolith(routing.sourceUrl), { applicationName: 'carve reverse wait' });
}
