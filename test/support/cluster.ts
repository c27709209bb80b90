import { afterAll } from 'vitest';
import {
  startCluster,
  type LocalCluster,
  type StartClusterOptions,
} from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';

/**
 * A throwaway cluster for one test file, removed after the file's tests (pass or fail).
 * fsync is off: tests prove logic and crash safety of carve, not of the disk.
 */
export async function useCluster(options: StartClusterOptions = {}): Promise<LocalCluster> {
  const cluster = await startCluster({ fsync: false, ...options });
  afterAll(() => cluster.destroy());
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
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {},
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
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
