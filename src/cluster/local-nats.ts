import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CarveError } from '../errors.js';
import { forgetCluster, processStartTime, reapLeftoverClusters, trackCluster } from './leftovers.js';
import { clusterBaseDir } from './local-cluster.js';
import { ServerProcess } from './server-process.js';
import { freePort } from './local-kafka.js';

export interface StartNatsOptions {
  /** Short label used in the directory name. */
  name?: string;
  /** Where server directories live (shared with the PostgreSQL clusters and Kafka brokers: one reaper). */
  baseDir?: string;
  /** The nats-server binary (default `CARVE_NATS_SERVER`, else `nats-server` on the PATH or in /usr/sbin). */
  binary?: string;
}

/**
 * A throwaway nats-server with JetStream on a free loopback port (`nats-server -a 127.0.0.1 -p
 * PORT -js -sd DIR`), its store in its own directory. Removed when this process exits; one left
 * behind by a killed process is removed by the next start (src/cluster/leftovers.ts, pid in
 * server.pid), like the PostgreSQL clusters and the Kafka brokers.
 */
export class LocalNats extends ServerProcess {
  constructor(
    rootDir: string,
    readonly port: number,
    private readonly binary: string,
  ) {
    super(rootDir);
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  /** Start the server (again, with its JetStream store) and wait until it accepts connections. */
  async start(): Promise<void> {
    if (this.isRunning) return;
    const child = await this.spawnServer(this.binary, [
      '-a',
      this.host,
      '-p',
      String(this.port),
      '-js',
      '-sd',
      join(this.rootDir, 'store'),
    ]);
    await waitForStart(this, child);
  }
}

/** Start a fresh nats-server with JetStream on a free port; registered for removal at exit. */
export async function startNats(options: StartNatsOptions = {}): Promise<LocalNats> {
  const binary = options.binary ?? process.env.CARVE_NATS_SERVER ?? natsServerBinary();
  const base = options.baseDir ?? clusterBaseDir();
  mkdirSync(base, { recursive: true });
  reapLeftoverClusters(base);
  const label = (options.name ?? 'nats').replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 24);
  const rootDir = join(base, `nats-${label}-${randomBytes(4).toString('hex')}`);
  mkdirSync(rootDir, { mode: 0o700 });
  writeFileSync(
    join(rootDir, 'owner.json'),
    JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), keep: false }),
  );
  trackCluster(rootDir);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const nats = new LocalNats(rootDir, await freePort(), binary);
    try {
      await nats.start();
      return nats;
    } catch (cause) {
      lastError = cause;
      await nats.stop('kill');
      if (!/address already in use/i.test(nats.logTail(20))) break;
    }
  }
  const tail = existsSync(join(rootDir, 'server.log'))
    ? readFileSync(join(rootDir, 'server.log'), 'utf8').slice(-3000)
    : '';
  rmSync(rootDir, { recursive: true, force: true });
  forgetCluster(rootDir);
  throw new CarveError('NATS_START_FAILED', `nats-server did not start in ${rootDir}\n${tail}`, {
    details: { directory: rootDir },
    hint: 'Install nats-server (Debian: apt-get install nats-server) or point CARVE_NATS_SERVER at it; see the log above.',
    cause: lastError,
  });
}

/** Wait until the server accepts TCP connections and logged that it is ready; fail early if it exits. */
async function waitForStart(nats: LocalNats, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  let offset = 0;
  try {
    offset = readFileSync(nats.logFile).length;
  } catch {
    // new log
  }
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nats-server exited (${child.exitCode ?? child.signalCode}):\n${nats.logTail(20)}`);
    const text = readFileSync(nats.logFile).subarray(offset).toString('utf8');
    if (text.includes('Server is ready') && (await accepts(nats.host, nats.port))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not start within 30 s:\n${nats.logTail(20)}`);
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** `nats-server` on the PATH, else Debian's /usr/sbin/nats-server (not on a non-root PATH). */
function natsServerBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}
