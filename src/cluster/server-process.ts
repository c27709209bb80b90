import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetCluster, processStartTime } from './leftovers.js';

/**
 * What the throwaway brokers (Kafka, NATS) share: one child process in its own directory, its
 * output appended to server.log, its pid in server.pid for the reaper (src/cluster/leftovers.ts),
 * stopped gracefully or killed (a crash as far as the server is concerned), removed on destroy.
 * Each server says how it starts and when it is ready.
 */
export abstract class ServerProcess {
  readonly host = '127.0.0.1';
  protected child: ChildProcess | undefined;

  constructor(readonly rootDir: string) {}

  /** Start the server (again, with its data) and wait until it accepts requests. */
  abstract start(): Promise<void>;

  get logFile(): string {
    return join(this.rootDir, 'server.log');
  }

  get isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawn the server detached, output to server.log, and record its pid for the reaper. */
  protected async spawnServer(command: string, args: string[]): Promise<ChildProcess> {
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd: this.rootDir, stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    this.child = child;
    child.unref();
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (!spawned) throw new Error(`${command} could not be started (is it installed?)`);
    writeFileSync(join(this.rootDir, 'server.pid'), `${child.pid} ${processStartTime(child.pid!) ?? ''}\n`);
    return child;
  }

  /** Stop the server: 'graceful' (SIGTERM: controlled shutdown) or 'kill' (SIGKILL: a crash). */
  async stop(mode: 'graceful' | 'kill' = 'graceful'): Promise<void> {
    const child = this.child;
    if (!child || !this.isRunning) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    rmSync(join(this.rootDir, 'server.pid'), { force: true });
  }

  async restart(mode: 'graceful' | 'kill' = 'graceful'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Stop the server and delete its data. Safe to call twice. */
  async destroy(): Promise<void> {
    try {
      await this.stop('kill');
    } finally {
      rmSync(this.rootDir, { recursive: true, force: true });
      forgetCluster(this.rootDir);
    }
  }

  logTail(lines = 20): string {
    return logTail(this.logFile, lines);
  }
}

/** The last lines of a server's log file, for error messages ('' while there is none). */
export function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
