import type { Routing } from '../routing/model.js';
import { readStatusSnapshot, type ServicePhaseReader, type StatusSnapshot } from './status-snapshot.js';

export interface StatusPollerOptions {
  routing: Routing;
  /** Between the end of one read and the start of the next (default 5000 ms). */
  intervalMs?: number;
  readPhases?: ServicePhaseReader;
  onSnapshot: (snapshot: StatusSnapshot) => void;
  /** A read that failed (a database down …); polling goes on. */
  onError?: (error: unknown) => void;
}

export interface StatusPoller {
  /** The last snapshot read, if any. */
  latest(): StatusSnapshot | null;
  /** Read now (shared with a read already under way). */
  refresh(): Promise<StatusSnapshot>;
  stop(): Promise<void>;
}

/**
 * Reads `carve status` (and the dashboard's extras) from the databases every few seconds: how the
 * metrics and the dashboard follow a migration that runs in another process, and what they know
 * beyond the events of one that runs in this one. One read at a time; reads only.
 */
export function startStatusPoller(options: StatusPollerOptions): StatusPoller {
  const intervalMs = options.intervalMs ?? 5000;
  let latest: StatusSnapshot | null = null;
  let inFlight: Promise<StatusSnapshot> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const refresh = (): Promise<StatusSnapshot> => {
    inFlight ??= readStatusSnapshot(options.routing, options.readPhases)
      .then((snapshot) => {
        latest = snapshot;
        if (!stopped) options.onSnapshot(snapshot);
        return snapshot;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };

  const tick = () => {
    refresh()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      });
  };
  tick();

  return {
    latest: () => latest,
    refresh,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight?.catch(() => undefined);
    },
  };
}
