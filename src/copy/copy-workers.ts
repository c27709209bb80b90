import { errorText } from '../errors.js';
import { atService, type Client, openSession } from '../pg/connect.js';
import { isTransientError, sqlStateOf } from '../pg/sqlstate.js';
import type { Routing } from '../routing/model.js';
import { CopyLog } from '../state/copy-log.js';
import { copyChunk, type ChunkPublish, type ChunkSink } from './chunk-copier.js';
import type { CopyEvent, FailedChunk } from './events.js';
import type { ReadGroup } from './copy-plan.js';
import { ReadQueue } from './read-queue.js';
import type { SnapshotEvents } from './snapshot-events.js';
import type { SnapshotSession } from './snapshot-session.js';

export interface WorkerPoolOptions {
  routing: Routing;
  session: SnapshotSession;
  jobs: number;
  emit: (event: CopyEvent) => void;
  signal?: AbortSignal;
  /** Attempts per read for transient errors (connection lost, server restarting). */
  attempts?: number;
  /** Snapshot reads of published tables (opened), and the LSN the session's snapshot stands for. */
  snapshotEvents?: { events: SnapshotEvents; lsn: string };
}

export interface RouteTally {
  rows: number;
  bytes: number;
  ms: number;
}

/**
 * N workers take reads from one queue (largest first, spread over relations: see ReadQueue). Each
 * worker holds one source connection attached to the copy snapshot and one connection per target
 * database it writes to.
 * A read that fails for a transient reason is retried on fresh connections; any other failure is
 * logged on its chunk and the workers carry on with the rest.
 */
export async function runCopyWorkers(
  groups: ReadGroup[],
  options: WorkerPoolOptions,
): Promise<{ tallies: Map<string, RouteTally>; failed: FailedChunk[] }> {
  const queue = new ReadQueue(groups);
  const tallies = new Map<string, RouteTally>();
  const failed: FailedChunk[] = [];
  const log = new CopyLog(options.routing.names.stateSchema, options.routing.names.migration);
  const urls = new Map(options.routing.services.map((s) => [s.database, s.url]));
  const maxAttempts = options.attempts ?? 3;

  /** The owner sink of a published table, when its chunk's reads are not published yet. */
  async function beginPublish(
    worker: number,
    group: ReadGroup,
    remaining: ReadGroup['sinks'],
  ): Promise<{ publish: ChunkPublish; routeId: string; chunkNo: number } | undefined> {
    const snapshot = options.snapshotEvents;
    if (!snapshot) return undefined;
    const owner = remaining.find((s) => s.publish && !snapshot.events.published(s.route.id, s.chunkNo));
    if (!owner) return undefined;
    const table = options.routing.events!.tables.find((t) => t.routeId === owner.route.id)!;
    const chunk = await snapshot.events.begin(worker, {
      routeId: owner.route.id,
      chunkNo: owner.chunkNo,
      lsn: snapshot.lsn,
      columns: table.columns,
    });
    const fields = table.columns.map((c) => group.read.columns.indexOf(c));
    return { publish: { chunk, fields }, routeId: owner.route.id, chunkNo: owner.chunkNo };
  }

  async function worker(id: number): Promise<void> {
    let source: Client | undefined;
    const targets = new Map<string, Client>();
    const target = async (database: string, slot: number) => {
      const key = `${database}#${slot}`;
      let client = targets.get(key);
      if (!client) {
        client = await openSession(atService(urls.get(database)!), { applicationName: 'carve copy writer' });
        targets.set(key, client);
      }
      return client;
    };
    const dropConnections = async () => {
      await source?.end().catch(() => {});
      source = undefined;
      for (const client of targets.values()) await client.end().catch(() => {});
      targets.clear();
    };

    try {
      for (let group = queue.take(); group && !options.signal?.aborted; group = queue.take()) {
        let remaining = group.sinks;
        for (
          let attempt = 1;
          remaining.length && attempt <= maxAttempts && !options.signal?.aborted;
          attempt++
        ) {
          const started = Date.now();
          const routeIds = remaining.map((s) => s.route.id);
          options.emit({
            type: 'chunk-started',
            routeIds,
            relation: group.read.relation,
            lower: group.read.lower,
            upper: group.read.upper,
            worker: id,
          });
          let outcomes;
          let publish: { publish: ChunkPublish; routeId: string; chunkNo: number } | undefined;
          try {
            source ??= await options.session.attach();
            const perDatabase = new Map<string, number>();
            const sinks: ChunkSink[] = [];
            for (const s of remaining) {
              const n = perDatabase.get(s.route.database) ?? 0;
              perDatabase.set(s.route.database, n + 1);
              sinks.push({
                routeId: s.route.id,
                chunkNo: s.chunkNo,
                target: s.route.target,
                targetColumns: s.targetColumns,
                fields: s.fields,
                client: await target(s.route.database, n),
                log,
              });
            }
            publish = await beginPublish(id, group, remaining);
            let pendingBytes = 0;
            let lastReport = Date.now();
            outcomes = await copyChunk(source, group.read, sinks, {
              snapshot: options.session.snapshot,
              signal: options.signal,
              ...(publish ? { publish: publish.publish } : {}),
              onBytes: (bytes) => {
                pendingBytes += bytes;
                if (Date.now() - lastReport > 250) {
                  options.emit({ type: 'chunk-progress', routeIds, bytes: pendingBytes });
                  pendingBytes = 0;
                  lastReport = Date.now();
                }
              },
            });
            if (pendingBytes) options.emit({ type: 'chunk-progress', routeIds, bytes: pendingBytes });
          } catch (error) {
            await publish?.publish.chunk.abort().catch(() => undefined);
            // Could not even start (attach or connect failed): every sink of this read failed.
            outcomes = remaining.map((s) => ({
              sink: { routeId: s.route.id, chunkNo: s.chunkNo } as ChunkSink,
              status: 'failed' as const,
              rows: 0,
              bytes: 0,
              error,
            }));
          }
          const retry: typeof remaining = [];
          let reconnect = false;
          if (publish?.publish.events !== undefined) {
            options.emit({
              type: 'chunk-published',
              routeId: publish.routeId,
              chunkNo: publish.chunkNo,
              events: publish.publish.events,
            });
          } else if (publish?.publish.error !== undefined && outcomes.every((o) => o.status !== 'failed')) {
            // A publish-only read (its rows were loaded already) whose reads are not published: the
            // copy is incomplete, and --resume reads the chunk again for publishing alone. (When
            // sinks were loading, they failed with the publication and report it themselves.)
            const failure: FailedChunk = {
              routeId: publish.routeId,
              chunkNo: publish.chunkNo,
              relation: group.read.relation,
              method: group.read.method,
              lower: group.read.lower,
              upper: group.read.upper,
              sqlstate: undefined,
              message: `snapshot reads not published: ${errorText(publish.publish.error)}`,
            };
            options.emit({ type: 'chunk-failed', attempt, willRetry: false, ...failure });
            failed.push(failure);
          }
          for (const outcome of outcomes) {
            const sink = remaining.find((s) => s.route.id === outcome.sink.routeId)!;
            if (outcome.status === 'done') {
              const tally = tallies.get(sink.route.id) ?? { rows: 0, bytes: 0, ms: 0 };
              tally.rows += outcome.rows;
              tally.bytes += outcome.bytes;
              tally.ms += Date.now() - started;
              tallies.set(sink.route.id, tally);
              options.emit({
                type: 'chunk-done',
                routeId: sink.route.id,
                chunkNo: sink.chunkNo,
                rows: outcome.rows,
                bytes: outcome.bytes,
                ms: Date.now() - started,
              });
            } else if (outcome.status === 'failed') {
              const transient = isTransientError(outcome.error);
              const willRetry = transient && attempt < maxAttempts && !options.signal?.aborted;
              reconnect ||= transient;
              const failure: FailedChunk = {
                routeId: sink.route.id,
                chunkNo: sink.chunkNo,
                relation: group.read.relation,
                method: group.read.method,
                lower: group.read.lower,
                upper: group.read.upper,
                sqlstate: sqlStateOf(outcome.error),
                message: errorText(outcome.error),
              };
              options.emit({ type: 'chunk-failed', attempt, willRetry, ...failure });
              if (willRetry) retry.push(sink);
              else failed.push(failure);
            }
          }
          // After a failed read the source transaction is aborted; after a lost target the
          // connection is gone. Start the next read on fresh connections either way.
          if (reconnect || outcomes.some((o) => o.status === 'failed')) await dropConnections();
          if (retry.length) await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
          remaining = retry;
        }
        queue.release(group);
      }
    } finally {
      await dropConnections();
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, (_, i) => worker(i)));
  return { tallies, failed };
}
