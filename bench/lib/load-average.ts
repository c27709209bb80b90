/**
 * The machine is shared: a figure means something only when we know how busy it was. These read
 * the 1-minute load average and wait (up to a limit) for it to drop below a threshold.
 */
import { loadavg } from 'node:os';

export function loadAverage1m(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export interface LoadWait {
  /** The 1-minute load when we stopped waiting. */
  load: number;
  waitedSeconds: number;
  /** False when the deadline passed with the load still above the threshold. */
  belowThreshold: boolean;
}

/** Polls every 5 s until the 1-minute load is below `max`, or `timeoutSeconds` pass. */
export async function waitForLoadBelow(
  max: number,
  timeoutSeconds: number,
  onWait?: (load: number, waitedSeconds: number) => void,
): Promise<LoadWait> {
  const started = Date.now();
  for (;;) {
    const load = loadAverage1m();
    const waitedSeconds = (Date.now() - started) / 1000;
    if (load < max) return { load, waitedSeconds, belowThreshold: true };
    if (waitedSeconds >= timeoutSeconds) return { load, waitedSeconds, belowThreshold: false };
    onWait?.(load, waitedSeconds);
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}
