import { afterAll } from 'vitest';
import {
  startCluster,
  type LocalCluster,
  type StartClusterOptions,
} from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';

/** Clusters started by this test file, removed by the hook below. */
const started: LocalCluster[] = [];

// Registered while the test file is collected (this module is imported by it): vitest ignores an
// afterAll registered later, e.g. from inside a beforeAll where useCluster is usually called, and
// then the servers kept running after the file until the next run reaped them.
afterAll(async () => {
  await Promise.all(started.splice(0).map((cluster) => cluster.destroy()));
});

/**
 * A throwaway cluster for one test file, removed after the file's tests (pass or fail).
 * fsync is off: tests prove logic and crash safety of carve, not of the disk.
 */
export async function useCluster(options: StartClusterOptions = {}): Promise<LocalCluster> {
  const cluster = await startCluster({ fsync: false, ...options });
  started.push(cluster);
  return cluster;
}

/** Create a database on the cluster and return its URL. */
export async function createDatabase(cluster: LocalCluster, name: string): Promise<string> {
  await withClient(cluster.url(), (client) =>
    client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`),
  );
  return cluster.url(name);
}

/** Poll until `check` returns a truthy value or the deadline passes. Never sleep a fixed time. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  {
    timeoutMs = 20_000,
    intervalMs = 50,
    what = 'condition',
    onTimeout,
  }: { timeoutMs?: number; intervalMs?: number; what?: string; onTimeout?: () => string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}${onTimeout ? ` (${onTimeout()})` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
