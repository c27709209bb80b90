import type { Routing } from '../routing/model.js';
import type { BatchSettings } from '../sync/options.js';
import type { ReverseEvent } from './events.js';

export interface ReverseSyncOptions {
  routing: Routing;
  /** Run only the reverse streams of these services (names); default: every registered one. */
  services?: readonly string[];
  signal?: AbortSignal;
  onEvent?: (event: ReverseEvent) => void;
  /** How often the registrations on the monolith are read again (default 1000 ms). */
  pollMs?: number;
  /** reverse-lag events every this many ms (default 1000). */
  lagIntervalMs?: number;
  /** Backoff between reconnects of one stream: first delay, cap (defaults 250 ms, 10 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  batch?: Partial<BatchSettings>;
  /** Position-only writes when nothing arrived, at most this often (default 1000 ms). */
  positionFlushMs?: number;
  applicationName?: string;
}
