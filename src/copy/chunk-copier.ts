import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { TableRef } from '../catalog/model.js';
import type { Client } from '../pg/connect.js';
import { quoteIdent, quoteIdentList, quoteQualified } from '../pg/quote.js';
import { sqlStateOf } from '../pg/sqlstate.js';
import type { ChunkMethod, CopyLog } from '../state/copy-log.js';
import { CopyTextRows } from './copy-text.js';
import { createRowProjector } from './row-projector.js';
import type { SnapshotChunk } from './snapshot-events.js';

/** One read of the monolith: a relation, a slice of it, some columns. */
export interface ChunkRead {
  relation: TableRef;
  method: ChunkMethod;
  lower: string | null;
  upper: string | null;
  /** The integer key column, for method 'key'. */
  keyColumn?: string;
  /** Source columns read, in order. */
  columns: string[];
  format: 'binary' | 'text';
}

/** One target table fed by a read. */
export interface ChunkSink {
  routeId: string;
  chunkNo: number;
  target: TableRef;
  /** Target column names, in the order of `fields`. */
  targetColumns: string[];
  /** Positions in the read's columns to keep, or null when the sink takes every column as read. */
  fields: number[] | null;
  client: Client;
  log: CopyLog;
}

export interface SinkOutcome {
  sink: ChunkSink;
  status: 'done' | 'already-done' | 'failed';
  rows: number;
  bytes: number;
  error?: unknown;
}

/** Bounds come from the chunk plan; they are inlined (COPY takes no parameters), so check them. */
function integerLiteral(value: string): string {
  if (!/^-?\d{1,20}$/.test(value)) throw new Error(`chunk bound is not an integer: ${JSON.stringify(value)}`);
  return value;
}

export function renderReadSql(read: ChunkRead): string {
  const table = quoteQualified(read.relation.schema, read.relation.name);
  const columns = quoteIdentList(read.columns);
  const format = `(FORMAT ${read.format})`;
  if (read.method === 'all') return `COPY ${table} (${columns}) TO STDOUT ${format}`;
  const conditions: string[] = [];
  if (read.method === 'key') {
    if (!read.keyColumn) throw new Error('a key-range chunk needs its key column');
    const key = quoteIdent(read.keyColumn);
    if (read.lower !== null) conditions.push(`${key} >= ${integerLiteral(read.lower)}`);
    if (read.upper !== null) conditions.push(`${key} < ${integerLiteral(read.upper)}`);
  } else {
    if (read.lower !== null) conditions.push(`ctid >= '(${integerLiteral(read.lower)},0)'::tid`);
    if (read.upper !== null) conditions.push(`ctid < '(${integerLiteral(read.upper)},0)'::tid`);
  }
  const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  return `COPY (SELECT ${columns} FROM ONLY ${table}${where}) TO STDOUT ${format}`;
}

export function renderWriteSql(sink: ChunkSink, format: 'binary' | 'text'): string {
  return `COPY ${quoteQualified(sink.target.schema, sink.target.name)} (${quoteIdentList(sink.targetColumns)}) FROM STDIN (FORMAT ${format})`;
}

/**
 * Snapshot reads of the chunk's rows (plan `events.snapshot`): the read is in text format and each
 * row is handed to `chunk`; copyChunk writes the outcome back (`events` or `error`).
 */
export interface ChunkPublish {
  chunk: SnapshotChunk;
  /** Positions in the read's columns of the published columns, in published order. */
  fields: number[];
  events?: number;
  error?: unknown;
}

interface ActiveSink {
  sink: ChunkSink;
  input: Writable;
  done: Promise<void>;
  bytes: number;
  rowCount: () => number;
  error?: unknown;
  /**
   * The server ended this COPY itself (an ErrorResponse): pg-copy-streams has let go of the
   * connection by then, and destroying the stream would send CopyFail on none (a TypeError thrown
   * from inside the stream, uncaught).
   */
  copyEnded?: boolean;
}

/**
 * Stream one read into every sink, each in its own target transaction that also marks the chunk
 * done in that database's copy log — rows and progress commit together or not at all.
 * The source client must already be inside a transaction holding the copy snapshot.
 * Memory stays bounded: the read is consumed only as fast as the slowest sink accepts it.
 *
 * With `publish`, the rows are also published as snapshot reads, committed after every sink's rows
 * are written and before any sink commits: a chunk marked loaded is always published, and a chunk
 * published but not loaded (a crash between the two commits) is loaded again without publishing.
 * A chunk whose sinks are all loaded already is read for publishing alone.
 */
export async function copyChunk(
  source: Client,
  read: ChunkRead,
  sinks: ChunkSink[],
  context: {
    snapshot: string;
    onBytes?: (bytes: number) => void;
    signal?: AbortSignal;
    publish?: ChunkPublish;
  },
): Promise<SinkOutcome[]> {
  const publish = context.publish;
  if (publish && read.format !== 'text') throw new Error('snapshot reads need a text-format read');
  const active: ActiveSink[] = [];
  const outcomes: SinkOutcome[] = [];

  for (const sink of sinks) {
    try {
      await sink.client.query('BEGIN');
      if (!(await sink.log.claimInTransaction(sink.client, sink.routeId, sink.chunkNo, context.snapshot))) {
        await sink.client.query('ROLLBACK');
        outcomes.push({ sink, status: 'already-done', rows: 0, bytes: 0 });
        continue;
      }
      const stream = sink.client.query(copyFrom(renderWriteSql(sink, read.format)));
      const entry: ActiveSink = {
        sink,
        input: stream,
        done: Promise.resolve(),
        bytes: 0,
        rowCount: () => stream.rowCount ?? 0,
      };
      stream.once('error', () => {
        entry.copyEnded = true;
      });
      if (sink.fields) {
        const projector = createRowProjector(read.format, sink.fields);
        entry.input = projector;
        entry.done = pipeline(projector, stream);
      } else {
        entry.done = new Promise<void>((resolve, reject) => {
          stream.once('finish', resolve);
          stream.once('error', reject);
        });
      }
      entry.done.catch((error: unknown) => {
        entry.error ??= error;
      });
      active.push(entry);
    } catch (error) {
      outcomes.push(await fail(sink, error));
    }
  }

  let sourceError: unknown;
  const rows = publish ? new CopyTextRows() : undefined;
  if (active.length || publish) {
    try {
      const reader = source.query(copyTo(renderReadSql(read)));
      const abort = () => reader.destroy(new Error('copy cancelled'));
      context.signal?.addEventListener('abort', abort, { once: true });
      try {
        for await (const chunk of reader as AsyncIterable<Buffer>) {
          context.onBytes?.(chunk.length);
          const waits: Promise<unknown>[] = [];
          for (const entry of active) {
            if (entry.error) continue;
            entry.bytes += chunk.length;
            if (!entry.input.write(chunk)) {
              waits.push(Promise.race([once(entry.input, 'drain'), entry.done.catch(() => undefined)]));
            }
          }
          if (publish) {
            for (const values of rows!.push(chunk)) {
              const wait = publish.chunk.row(publish.fields.map((f) => values[f] ?? null));
              if (wait) await wait;
            }
          }
          if (waits.length) await Promise.all(waits);
          if (!publish && active.every((e) => e.error)) break;
        }
        if (rows && !rows.complete) throw new Error('COPY text stream ended inside a row');
      } finally {
        context.signal?.removeEventListener('abort', abort);
      }
    } catch (error) {
      sourceError = error;
    }
  }

  for (const entry of active) {
    if (sourceError) entry.error ??= sourceError;
    if (entry.error) {
      if (!entry.copyEnded) {
        entry.input.destroy(entry.error instanceof Error ? entry.error : new Error(String(entry.error)));
      }
    } else {
      entry.input.end();
    }
    await entry.done.catch(() => undefined);
  }

  if (publish) {
    // Published only when every sink holds its rows; each sink commits only once they are published.
    const blocked = sourceError ?? active.find((e) => e.error)?.error;
    try {
      if (blocked !== undefined) throw blocked;
      publish.events = await publish.chunk.commit();
    } catch (error) {
      publish.error = error;
      await publish.chunk.abort().catch(() => undefined);
      for (const entry of active) entry.error ??= error;
    }
  }

  for (const entry of active) {
    if (entry.error) {
      outcomes.push(await fail(entry.sink, entry.error));
      continue;
    }
    try {
      const rows = entry.rowCount();
      await entry.sink.log.recordLoadedInTransaction(
        entry.sink.client,
        entry.sink.routeId,
        entry.sink.chunkNo,
        rows,
        entry.bytes,
      );
      await entry.sink.client.query('COMMIT');
      outcomes.push({ sink: entry.sink, status: 'done', rows, bytes: entry.bytes });
    } catch (error) {
      outcomes.push(await fail(entry.sink, error));
    }
  }
  return outcomes;
}

async function fail(sink: ChunkSink, error: unknown): Promise<SinkOutcome> {
  try {
    await sink.client.query('ROLLBACK');
    const message = error instanceof Error ? error.message : String(error);
    await sink.log.markFailed(sink.client, sink.routeId, sink.chunkNo, message, sqlStateOf(error));
  } catch {
    // The target connection itself is gone; the engine replaces it and the chunk stays pending.
  }
  return { sink, status: 'failed', rows: 0, bytes: 0, error };
}
