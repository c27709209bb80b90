import { execFile, execFileSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { promisify } from 'node:util';
import { CarveError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** PostgreSQL refuses to run as root; as root, the server runs as this OS user. */
export const SERVER_OS_USER = 'postgres';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

interface OsUser {
  uid: number;
  gid: number;
}

let serverUser: OsUser | undefined;

/** The OS user the server runs as: `postgres` when we are root (created if missing), else ourselves. */
export function serverOsUser(): OsUser | undefined {
  if (!isRoot()) return undefined;
  if (serverUser) return serverUser;
  const lookup = () => {
    const uid = Number(execFileSync('id', ['-u', SERVER_OS_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SERVER_OS_USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  };
  try {
    serverUser = lookup();
  } catch {
    try {
      execFileSync(
        'useradd',
        ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVER_OS_USER],
        {
          stdio: 'ignore',
        },
      );
      serverUser = lookup();
    } catch (cause) {
      throw new CarveError('PG_OS_USER', `Cannot find or create the OS user "${SERVER_OS_USER}"`, {
        hint: `PostgreSQL refuses to run as root. Create the user (useradd --system ${SERVER_OS_USER}) or run carve as an ordinary user.`,
        cause,
      });
    }
  }
  return serverUser;
}

/** Give a path to the server's OS user (no-op when not root). */
export function chownToServer(path: string): void {
  const user = serverOsUser();
  if (user) chownSync(path, user.uid, user.gid);
}

/** Run a PostgreSQL program as the server's OS user; rejects with its stderr on failure. */
export async function runAsServer(
  program: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  const user = serverOsUser();
  // execFile with uid/gid switches user without depending on su/runuser being installed.
  return execFileAsync(program, args, {
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, LC_ALL: 'C', ...options.env },
    maxBuffer: 16 * 1024 * 1024,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
}
