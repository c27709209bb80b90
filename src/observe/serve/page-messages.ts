import type { HubEvent } from '../../event-hub.js';
import type { CarveEvents } from '../../migrate/events.js';
import type { StatusSnapshot } from '../status-snapshot.js';

/** What the dashboard's event stream (/api/events) sends; `type` is the SSE event name. */
export type PageMessage =
  | { type: 'snapshot'; snapshot: StatusSnapshot }
  | {
      type: 'lag';
      at: number;
      targets: { database: string; lagSeconds: number | null; lagBytes: number; changesPerSecond: number }[];
    }
  | { type: 'note'; at: number; engine: string; level: 'info' | 'error'; text: string }
  | {
      type: 'verify-route';
      at: number;
      routeId: string;
      database: string;
      status: 'ok' | 'differs';
      missing: number;
      extra: number;
      different: number;
      /** Keys only: the values of differing columns may be personal data and stay out of the page. */
      keys: { kind: string; key: Record<string, string>; columns: string[] }[];
    }
  | {
      /** A step of an action the page started, while it runs. */
      type: 'action-progress';
      at: number;
      action: string;
      service: string;
      step: string;
      state: 'started' | 'done' | 'info';
      text: string;
    }
  | {
      type: 'action';
      at: number;
      action: string;
      service: string;
      outcome: 'ok' | 'failed';
      code: string | null;
      message: string;
    };

/** The part of an engine event the page shows, or null for events it does not (per-batch, per-chunk progress). */
export function pageMessageOf(envelope: HubEvent<CarveEvents>): PageMessage | null {
  const at = envelope.at;
  const note = (level: 'info' | 'error', text: string): PageMessage => ({
    type: 'note',
    at,
    engine: envelope.engine,
    level,
    text,
  });
  switch (envelope.engine) {
    case 'sync': {
      const e = envelope.event;
      switch (e.type) {
        case 'lag':
          return {
            type: 'lag',
            at,
            targets: e.targets.map((t) => ({
              database: t.database,
              lagSeconds: t.lagSeconds,
              lagBytes: t.lagBytes,
              changesPerSecond: t.changesPerSecond,
            })),
          };
        case 'reconnecting':
          return note('error', `reconnecting (attempt ${e.attempt}): ${e.error.code} ${e.error.message}`);
        case 'sync-stopped':
          return note(
            e.reason === 'failed' ? 'error' : 'info',
            `sync stopped (${e.reason})${e.error ? `: ${e.error.code} ${e.error.message}` : ''}`,
          );
        case 'hold-failed':
          return note('error', `${e.database} cannot hold at ${e.lsn}: ${e.error}`);
        case 'caught-up':
          return note('info', `caught up with ${e.lsn}`);
        case 'stream-started':
          return note('info', `streaming from ${e.resumeLsn}`);
        default:
          return null;
      }
    }
    case 'copy': {
      const e = envelope.event;
      if (e.type === 'chunk-failed')
        return note(
          'error',
          `chunk ${e.chunkNo} of ${e.routeId} failed${e.willRetry ? ' (retrying)' : ''}: ${e.sqlstate ?? ''} ${e.message}`,
        );
      if (e.type === 'copy-finished')
        return note(
          'info',
          `copy ${e.complete ? 'finished' : 'stopped'}: ${e.rows} rows in ${e.seconds.toFixed(1)} s`,
        );
      return null;
    }
    case 'verify': {
      const e = envelope.event;
      if (e.type === 'route-done')
        return {
          type: 'verify-route',
          at,
          routeId: e.result.routeId,
          database: e.result.database,
          status: e.result.status,
          missing: e.result.missing,
          extra: e.result.extra,
          different: e.result.different,
          keys: e.result.mismatches.slice(0, 20).map((m) => ({
            kind: m.kind,
            key: m.key,
            columns: (m.columns ?? []).map((c) => c.column),
          })),
        };
      if (e.type === 'verify-finished')
        return note(
          e.ok ? 'info' : 'error',
          `verify ${e.ok ? 'matched' : 'found differences'} (${e.seconds.toFixed(1)} s)`,
        );
      return null;
    }
    case 'migrate': {
      const e = envelope.event;
      if (e.type === 'step-started') return note('info', `${e.step} started`);
      return null;
    }
    default:
      return null;
  }
}
