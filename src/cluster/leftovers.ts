import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Cleanup of throwaway clusters. A cluster belongs to the process that started it: it is removed
 * when that process exits (normally, by exception, or on SIGINT/SIGTERM), and a cluster whose
 * owner was killed (kill -9) is removed by the next process that starts a cluster.
 */

const live = new Set<string>();
let handlersInstalled = false;

export function trackCluster(rootDir: string): void {
  live.add(rootDir);
  installHandlers();
}

export function forgetCluster(rootDir: string): void {
  live.delete(rootDir);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', removeLiveClustersSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only act when nobody else handles the signal: then the default would kill us without cleanup.
    process.on(signal, function onSignal() {
      if (process.listenerCount(signal) > 1) return;
      removeLiveClustersSync();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    });
  }
}

/** Synchronous, because it runs from the 'exit' event. */
export function removeLiveClustersSync(): void {
  for (const rootDir of [...live]) {
    killPostmaster(join(rootDir, 'data'));
    killServer(rootDir);
    rmSync(rootDir, { recursive: true, force: true });
    live.delete(rootDir);
  }
}

/** Remove clusters under `base` whose owning process is gone. Never touches a live owner's cluster. */
export function reapLeftoverClusters(base: string): number {
  if (!existsSync(base)) return 0;
  let removed = 0;
  for (const entry of readdirSync(base)) {
    const rootDir = join(base, entry);
    try {
      const ownerFile = join(rootDir, 'owner.json');
      if (!existsSync(ownerFile)) {
        // Being created right now, or a stray directory: only remove it once it is clearly stale.
        if (Date.now() - statSync(rootDir).mtimeMs < 10 * 60_000) continue;
      } else {
        const owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as {
          pid: number;
          startTime?: string;
          keep?: boolean;
        };
        if (owner.keep) continue;
        if (isProcessAlive(owner.pid, owner.startTime)) continue;
      }
      killPostmaster(join(rootDir, 'data'));
      killServer(rootDir);
      rmSync(rootDir, { recursive: true, force: true });
      removed++;
    } catch {
      // Another user's cluster, or a concurrent reaper got there first.
    }
  }
  return removed;
}

/** A server other than PostgreSQL (the Kafka broker's JVM) records `pid starttime` in server.pid: kill it. */
function killServer(rootDir: string): void {
  const pidFile = join(rootDir, 'server.pid');
  if (!existsSync(pidFile)) return;
  const [pidText, startTime] = readFileSync(pidFile, 'utf8').trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return;
  // The pid may belong to another process by now: only kill the one that started then.
  if (!isProcessAlive(pid, startTime || undefined)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && isProcessAlive(pid)) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

/** Immediate shutdown (SIGQUIT), escalating to SIGKILL; waits briefly for the postmaster to exit. */
function killPostmaster(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  for (const [signal, waitMs] of [
    ['SIGQUIT', 3000],
    ['SIGKILL', 2000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!isProcessAlive(pid)) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** Field 22 of /proc/<pid>/stat: distinguishes a live owner from a recycled pid. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isProcessAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined) return true;
  const current = processStartTime(pid);
  return current === undefined || current === startTime;
}
