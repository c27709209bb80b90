import cliProgress from 'cli-progress';
import type { CopyEvent, CopyResult } from '../copy/events.js';
import { formatBytes, formatCount, formatSeconds, jsonLine, renderTable } from './format.js';

/**
 * Renders copy events: live bars (overall + tables in flight) on a TTY, otherwise one JSON line
 * per event. Sizes are estimates from the catalog until a table finishes.
 */
export function createCopyReporter(options: { json: boolean; stream?: NodeJS.WriteStream; plain?: boolean }) {
  const out = options.stream ?? process.stderr;
  if (options.json || (!out.isTTY && !options.plain)) {
    return { onEvent: (e: CopyEvent) => void process.stdout.write(jsonLine(e)), stop() {} };
  }
  if (!out.isTTY) return createPlainCopyReporter(out);

  const multibar = new cliProgress.MultiBar(
    {
      stream: out,
      clearOnComplete: false,
      hideCursor: true,
      format: '{label} |{bar}| {percentage}% {done} {rate} ETA {eta_formatted}',
      barsize: 30,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_grey,
  );
  let overall: cliProgress.SingleBar | undefined;
  const routes = new Map<
    string,
    {
      bar?: cliProgress.SingleBar;
      total: number;
      done: number;
      chunksLeft: number;
      rows: number;
      name: string;
      /** When its first chunk started, for the per-table rate. */
      since: number;
    }
  >();
  let copied = 0;
  const started = Date.now();
  const rate = (bytes: number, since: number) =>
    `${formatBytes(bytes / Math.max(0.001, (Date.now() - since) / 1000))}/s`;

  return {
    onEvent(event: CopyEvent) {
      switch (event.type) {
        case 'copy-started': {
          const total = event.routes.reduce((s, r) => s + r.estimatedBytes, 0);
          multibar.log(
            `copy (${event.mode}) from slot ${event.slot} at ${event.consistentLsn}, ${event.jobs} workers\n`,
          );
          overall = multibar.create(Math.max(1, total), 0, { label: 'total'.padEnd(36), done: '', rate: '' });
          for (const r of event.routes) {
            routes.set(r.routeId, {
              total: Math.max(1, r.estimatedBytes),
              done: 0,
              chunksLeft: r.chunks - r.chunksDone,
              rows: 0,
              name: r.routeId,
              since: 0,
            });
          }
          break;
        }
        case 'chunk-started':
          for (const id of event.routeIds) {
            const r = routes.get(id);
            if (r && !r.bar) {
              r.since = Date.now();
              r.bar = multibar.create(r.total, r.done, {
                label: id.slice(-36).padEnd(36),
                done: '',
                rate: '',
              });
            }
          }
          break;
        case 'chunk-progress': {
          copied += event.bytes;
          overall?.update(copied, { done: formatBytes(copied), rate: rate(copied, started) });
          for (const id of event.routeIds) {
            const r = routes.get(id);
            if (!r) continue;
            r.done += event.bytes;
            // Rows are counted per finished chunk; bytes as they stream.
            const rows = r.rows ? `, ${formatCount(r.rows)} rows` : '';
            r.bar?.update(Math.min(r.done, r.total), {
              done: `${formatBytes(r.done)}${rows}`,
              rate: rate(r.done, r.since),
            });
          }
          break;
        }
        case 'chunk-done': {
          const r = routes.get(event.routeId);
          if (!r) break;
          r.rows += event.rows;
          r.chunksLeft -= 1;
          if (r.chunksLeft <= 0 && r.bar) {
            r.bar.update(r.total, { done: `${formatCount(r.rows)} rows` });
            r.bar.stop();
            multibar.remove(r.bar);
            multibar.log(`done  ${r.name}  ${formatCount(r.rows)} rows\n`);
            r.bar = undefined;
          }
          break;
        }
        case 'chunk-failed':
          multibar.log(
            `${event.willRetry ? 'retry' : 'FAILED'} ${event.routeId} chunk ${event.chunkNo} of ${event.relation.schema}.${event.relation.name} [${event.lower ?? '-∞'}, ${event.upper ?? '+∞'}) ${event.sqlstate ?? ''} ${event.message}\n`,
          );
          break;
        case 'route-restarted':
          multibar.log(`restart ${event.routeId}: ${event.reason}\n`);
          break;
        case 'partition-added':
          multibar.log(`created partition ${event.table} in ${event.database} (new on the monolith)\n`);
          break;
        case 'catch-up-started':
          multibar.log(
            `streaming ${event.databases.join(', ')} up to ${event.lsn}: rows were loaded under two snapshots\n`,
          );
          break;
        case 'catch-up-done':
          multibar.log(
            `  caught up to ${event.lsn}: ${formatCount(event.changes)} changes in ${formatSeconds(event.ms / 1000)}\n`,
          );
          break;
        case 'post-load-started':
          multibar.log(`indexes, foreign keys, sequences: ${event.database}\n`);
          break;
        case 'post-load-done':
          multibar.log(
            `  ${event.database}: ${event.indexes} indexes, ${event.foreignKeys} foreign keys, ${event.sequences} sequences in ${formatSeconds(event.ms / 1000)}\n`,
          );
          break;
        case 'copy-finished':
          overall?.update(overall.getTotal(), { done: formatBytes(event.bytes), rate: '' });
          break;
      }
    },
    stop() {
      multibar.stop();
    },
  };
}

export function renderCopySummary(result: CopyResult): string {
  const rows = result.routes.map((r) => [
    r.routeId,
    formatCount(r.rows),
    formatBytes(r.bytes),
    r.seconds.toFixed(1),
    r.seconds > 0 ? formatCount(r.rows / r.seconds) : '-',
    r.failedChunks ? `${r.failedChunks} failed` : 'ok',
  ]);
  const totalRows = result.routes.reduce((s, r) => s + r.rows, 0);
  const totalBytes = result.routes.reduce((s, r) => s + r.bytes, 0);
  rows.push([
    'total',
    formatCount(totalRows),
    formatBytes(totalBytes),
    result.seconds.toFixed(1),
    formatCount(totalRows / Math.max(0.001, result.seconds)),
    result.complete ? 'complete' : 'INCOMPLETE',
  ]);
  const table = renderTable(['table', 'rows', 'bytes', 'seconds', 'rows/s', 'status'], rows, [
    'rows',
    'bytes',
    'seconds',
    'rows/s',
  ]);
  return result.snapshotEvents === undefined
    ? table
    : `${table}\nsnapshot reads (op r) published to Kafka: ${formatCount(result.snapshotEvents)}`;
}

/** Not a terminal, but read by a person (migrate, demo): a line per finished table and per problem. */
function createPlainCopyReporter(out: NodeJS.WriteStream) {
  const left = new Map<string, { chunks: number; rows: number }>();
  return {
    onEvent(event: CopyEvent) {
      switch (event.type) {
        case 'copy-started':
          out.write(
            `  copy (${event.mode}) at ${event.consistentLsn}: ${event.routes.length} tables, ${event.jobs} workers\n`,
          );
          for (const r of event.routes) left.set(r.routeId, { chunks: r.chunks - r.chunksDone, rows: 0 });
          break;
        case 'chunk-done': {
          const r = left.get(event.routeId);
          if (!r) break;
          r.rows += event.rows;
          if (--r.chunks === 0) out.write(`  copied ${event.routeId}: ${formatCount(r.rows)} rows\n`);
          break;
        }
        case 'chunk-failed':
          out.write(
            `  ${event.willRetry ? 'retry' : 'FAILED'} ${event.routeId} chunk ${event.chunkNo} [${event.lower ?? '-∞'}, ${event.upper ?? '+∞'}): ${event.sqlstate ?? ''} ${event.message}\n`,
          );
          break;
        case 'catch-up-started':
          out.write(
            `  streaming ${event.databases.join(', ')} up to ${event.lsn} (loaded under two snapshots)\n`,
          );
          break;
        case 'catch-up-done':
          out.write(`  caught up to ${event.lsn}: ${formatCount(event.changes)} changes\n`);
          break;
        case 'post-load-done':
          out.write(
            `  ${event.database}: ${event.indexes} indexes, ${event.foreignKeys} foreign keys, ${event.sequences} sequences\n`,
          );
          break;
        default:
          break;
      }
    },
    stop() {},
  };
}
