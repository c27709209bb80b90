import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarveError } from '../errors.js';
import { findPostgresBinaries, type PostgresBinaries } from './binaries.js';
import { chownToServer, runAsServer } from './run-as.js';
import { forgetCluster, processStartTime, reapLeftoverClusters, trackCluster } from './leftovers.js';
import { logTail } from './server-process.js';

export interface StartClusterOptions {
  /** Short label used in the directory name (letters, digits, dashes). */
  name?: string;
  /** fsync and full_page_writes; off only where asked (tests, benchmarks). Default true. */
  fsync?: boolean;
  /** Extra postgresql.conf settings, written verbatim as `key = value`. */
  settings?: Record<string, string | number | boolean>;
  /** Where cluster directories live. Default: $CARVE_CLUSTER_DIR or <tmpdir>/carve-clusters. */
  baseDir?: string;
  /**
   * Leave the cluster running when this process exits (the demo's --keep). Such a cluster is
   * never reaped as a leftover; remove it with `destroy()` or by deleting its directory.
   */
  keep?: boolean;
  /** Server binaries to run; default findPostgresBinaries() (a test picks an older major). */
  binaries?: PostgresBinaries;
}

export function clusterBaseDir(): string {
  return process.env.CARVE_CLUSTER_DIR ?? join(tmpdir(), 'carve-clusters');
}

/** A throwaway PostgreSQL cluster: its own data directory, port and unix-socket directory. */
export class LocalCluster {
  readonly host = '127.0.0.1';
  readonly superuser = 'postgres';
  private running = true;

  constructor(
    readonly rootDir: string,
    readonly port: number,
    readonly binaries: PostgresBinaries,
  ) {}

  get dataDir(): string {
    return join(this.rootDir, 'data');
  }

  get socketDir(): string {
    return join(this.rootDir, 'sock');
  }

  get logFile(): string {
    return join(this.rootDir, 'server.log');
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** A connection URL for `database` (TCP on loopback, trust auth). */
  url(database = 'postgres', user = this.superuser): string {
    return `postgres://${encodeURIComponent(user)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  /** Stop the server, keeping the data. `immediate` is a crash as far as PostgreSQL is concerned. */
  async stopServer(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return;
    await pgCtl(this.binaries, ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], this.rootDir);
    this.running = false;
  }

  /** Start a stopped server on the same port. */
  async startServer(): Promise<void> {
    if (this.running) return;
    await pgCtl(
      this.binaries,
      ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', 'start'],
      this.rootDir,
    );
    this.running = true;
  }

  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.stopServer(mode);
    await this.startServer();
  }

  /** Stop the server and delete everything it had. Safe to call twice. */
  async destroy(): Promise<void> {
    try {
      if (this.running && existsSync(join(this.dataDir, 'postmaster.pid')))
        await this.stopServer('immediate');
    } finally {
      this.running = false;
      rmSync(this.rootDir, { recursive: true, force: true });
      forgetCluster(this.rootDir);
    }
  }

  /** Last lines of the server log, for error messages. */
  logTail(lines = 20): string {
    return logTail(this.logFile, lines);
  }
}

const DEFAULT_SETTINGS: Record<string, string | number | boolean> = {
  listen_addresses: '127.0.0.1',
  wal_level: 'logical',
  max_replication_slots: 40,
  max_wal_senders: 40,
  max_connections: 300,
  max_worker_processes: 16,
  max_logical_replication_workers: 8,
  max_wal_size: '4GB',
  log_min_messages: 'warning',
  log_line_prefix: "'%m [%p] %d '",
  logging_collector: false,
};

/**
 * initdb a fresh cluster in a new directory, start it on a free port, and register it so it is
 * removed when this process exits (or by the next run, if this one is killed).
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<LocalCluster> {
  const binaries = options.binaries ?? findPostgresBinaries();
  const base = options.baseDir ?? clusterBaseDir();
  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o1777); // shared by every user on the machine, like /tmp
  reapLeftoverClusters(base);

  const label = (options.name ?? 'pg').replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 24);
  const rootDir = join(base, `${label}-${randomBytes(4).toString('hex')}`);
  mkdirSync(rootDir, { mode: 0o700 });
  // The owner record comes first so that a concurrent reaper never sees an ownerless directory.
  writeFileSync(
    join(rootDir, 'owner.json'),
    JSON.stringify({
      pid: process.pid,
      startTime: processStartTime(process.pid),
      keep: options.keep === true,
    }),
  );
  if (!options.keep) trackCluster(rootDir);
  mkdirSync(join(rootDir, 'sock'));
  chownToServer(rootDir);
  chownToServer(join(rootDir, 'sock'));

  try {
    await runAsServer(
      join(binaries.binDir, 'initdb'),
      [
        '-D',
        join(rootDir, 'data'),
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { cwd: rootDir, env: { HOME: rootDir } },
    );
  } catch (cause) {
    rmSync(rootDir, { recursive: true, force: true });
    forgetCluster(rootDir);
    throw new CarveError('PG_INITDB_FAILED', `initdb failed in ${rootDir}: ${stderrOf(cause)}`, {
      hint: 'Check that the PostgreSQL binaries run on this machine and that the temp directory is writable.',
      cause,
    });
  }

  const fsync = options.fsync ?? true;
  const settings = {
    ...DEFAULT_SETTINGS,
    unix_socket_directories: join(rootDir, 'sock'),
    fsync,
    full_page_writes: fsync,
    ...options.settings,
  };
  // Port races with other processes are possible between probing and binding: retry on a new port.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    writeConf(join(rootDir, 'data'), { ...settings, port });
    const cluster = new LocalCluster(rootDir, port, binaries);
    try {
      await pgCtl(
        binaries,
        ['-D', cluster.dataDir, '-l', cluster.logFile, '-w', '-t', '60', 'start'],
        rootDir,
      );
      return cluster;
    } catch (cause) {
      lastError = cause;
      if (!/could not bind|Address already in use/i.test(cluster.logTail(5))) break;
    }
  }
  const tail = new LocalCluster(rootDir, 0, binaries).logTail();
  rmSync(rootDir, { recursive: true, force: true });
  forgetCluster(rootDir);
  throw new CarveError(
    'PG_START_FAILED',
    `PostgreSQL did not start in ${rootDir}: ${stderrOf(lastError)}\n${tail}`,
    {
      hint: 'See the server log above; check free memory, free disk and max_connections limits.',
      cause: lastError,
    },
  );
}

function writeConf(dataDir: string, settings: Record<string, string | number | boolean>): void {
  const lines = Object.entries(settings).map(([key, value]) => {
    if (typeof value === 'boolean') return `${key} = ${value ? 'on' : 'off'}`;
    if (typeof value === 'number') return `${key} = ${value}`;
    return `${key} = ${value.startsWith("'") ? value : `'${value.replaceAll("'", "''")}'`}`;
  });
  // postgresql.auto.conf is read last, so these win over initdb's defaults and earlier runs.
  writeFileSync(join(dataDir, 'postgresql.auto.conf'), `# written by carve\n${lines.join('\n')}\n`);
  chownToServer(join(dataDir, 'postgresql.auto.conf'));
  appendFileSync(join(dataDir, 'postgresql.conf'), '');
}

async function pgCtl(binaries: PostgresBinaries, args: string[], cwd: string): Promise<void> {
  await runAsServer(join(binaries.binDir, 'pg_ctl'), args, { cwd, env: { HOME: cwd }, timeoutMs: 90_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function stderrOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'stderr' in error) {
    const text = String((error as { stderr: unknown }).stderr).trim();
    if (text) return text;
  }
  return error instanceof Error ? error.message : String(error);
}
