import { randomBytes } from 'node:crypto';
import { CarveError, isCarveError } from '../errors.js';
import { atMonolith, type Client, openSession, type ConnectTo } from '../pg/connect.js';
import { parseLsn, type Lsn } from '../pg/lsn.js';
import { assertSlotName, replicationLiteral } from '../pg/replication/commands.js';
import { toReplicationError } from '../pg/replication/replication-error.js';
import { quoteIdent } from '../pg/quote.js';
import { createSlotWithin } from '../pg/replication/slot-wait.js';
import { describeBlocker } from '../pg/wait-blockers.js';
import { pinSessionSettings } from './session-settings.js';

/**
 * `CREATE_REPLICATION_SLOT … TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT` — verify's own text,
 * kept apart from the permanent slot of copy/sync. A temporary slot disappears with its
 * connection (and with a crash), so verify never leaves one behind. The keyword form, which a
 * PostgreSQL 14 monolith also accepts (see createSlotCommand).
 */
export function temporarySlotCommand(slot: string): string {
  assertSlotName(slot);
  return `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} TEMPORARY LOGICAL ${quoteIdent('pgoutput')} EXPORT_SNAPSHOT`;
}

export interface MonolithPoint {
  /** The slot's consistent point: the snapshot sees exactly the transactions that commit before it. */
  lsn: Lsn;
  snapshot: string;
  /** Drops the temporary slot (closing its connection). Import the snapshot before. */
  close(): Promise<void>;
}

/**
 * A snapshot of the monolith exactly aligned with an LSN, through a temporary logical slot. The
 * slot waits for every transaction (with an id) running when it is created to end; `timeoutMs`
 * bounds that wait: VERIFY_SNAPSHOT_TIMEOUT names the transactions still open (and the waiting
 * backend is terminated, so that nothing is left waiting on the monolith).
 */
export async function monolithPoint(
  url: string,
  applicationName: string,
  options: { timeoutMs?: number } = {},
): Promise<MonolithPoint> {
  const slot = `carve_verify_${process.pid}_${randomBytes(4).toString('hex')}`;
  let client: Client;
  try {
    client = await openSession(atMonolith(url), { replication: 'database', applicationName });
  } catch (error) {
    throw toReplicationError(error, { slot, phase: 'connect' });
  }
  try {
    const row =
      options.timeoutMs === undefined
        ? (await client.query(temporarySlotCommand(slot))).rows[0]
        : await createWithin(client, slot, url, options.timeoutMs);
    return {
      lsn: parseLsn(row.consistent_point),
      snapshot: row.snapshot_name,
      close: () => client.end().catch(() => {}),
    };
  } catch (error) {
    await client.end().catch(() => {});
    throw isCarveError(error) ? error : toReplicationError(error, { slot, phase: 'start' });
  }
}

function createWithin(
  client: Client,
  slot: string,
  url: string,
  timeoutMs: number,
): Promise<{ consistent_point: string; snapshot_name: string }> {
  return createSlotWithin(client, temporarySlotCommand(slot), url, timeoutMs, ({ blockers, action }) => {
    return new CarveError(
      'VERIFY_SNAPSHOT_TIMEOUT',
      `The monolith snapshot (temporary slot ${slot}) waited ${Math.round(timeoutMs / 1000)} s for transactions open before it to end${
        blockers.length ? `: ${blockers.map(describeBlocker).join('; ')}` : ''
      }`,
      {
        details: { timeoutMs, action, blockers },
        hint: `${action}, then run verify again.`,
      },
    );
  });
}

/**
 * A long-lived REPEATABLE READ transaction that holds a snapshot (imported, or its own) and
 * re-exports it for a pool of readers. It stays open until the verify ends, so readers can be
 * added at any time.
 */
export interface Anchor {
  snapshot: string;
  close(): Promise<void>;
}

export async function openAnchor(
  url: ConnectTo,
  applicationName: string,
  importSnapshot?: string,
): Promise<Anchor> {
  const client = await openSession(url, { applicationName });
  try {
    await pinSessionSettings(client);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (importSnapshot) await client.query(`SET TRANSACTION SNAPSHOT ${replicationLiteral(importSnapshot)}`);
    const snapshot = (await client.query('SELECT pg_export_snapshot() AS s')).rows[0].s as string;
    return {
      snapshot,
      async close() {
        await client.query('COMMIT').catch(() => {});
        await client.end().catch(() => {});
      },
    };
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

/** Reader connections of one database, each inside a transaction on the same snapshot. */
export class SnapshotPool {
  private readonly idle: Client[] = [];
  private readonly all: Client[] = [];
  private readonly waiters: ((client: Client) => void)[] = [];
  private opening = 0;

  constructor(
    readonly url: ConnectTo,
    readonly snapshot: string,
    private readonly max: number,
    private readonly applicationName: string,
  ) {}

  async acquire(): Promise<Client> {
    const free = this.idle.pop();
    if (free) return free;
    if (this.all.length + this.opening < this.max) {
      this.opening++;
      try {
        const client = await openSession(this.url, { applicationName: this.applicationName });
        try {
          await pinSessionSettings(client);
          await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          // Snapshot names are server-generated (hex and dashes); still passed as a literal.
          await client.query(`SET TRANSACTION SNAPSHOT ${replicationLiteral(this.snapshot)}`);
        } catch (error) {
          await client.end().catch(() => {});
          throw error;
        }
        this.all.push(client);
        return client;
      } finally {
        this.opening--;
      }
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(client: Client): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(client);
    else this.idle.push(client);
  }

  async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      return await fn(client);
    } finally {
      this.release(client);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.all.map(async (c) => {
        await c.query('COMMIT').catch(() => {});
        await c.end().catch(() => {});
      }),
    );
    this.all.length = 0;
    this.idle.length = 0;
  }
}
