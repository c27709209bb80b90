/**
 * CPU seconds a PostgreSQL server spends, read from /proc: on a shared machine wall times move with
 * everybody else's load, CPU seconds of the processes doing the work much less.
 *
 * A server's CPU = the postmaster's own time + the time of the children it has reaped (cutime,
 * cstime: every backend and parallel worker that exited) + the time of its children still alive.
 * The difference of two readings is what the server spent in between.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { withClient } from '../../src/pg/connect.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function statFields(pid: number): string[] | undefined {
  try {
    // Fields after "pid (comm) " — comm may contain spaces and parentheses, so split at the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process exited meanwhile
  }
}

/** The postmaster's pid: the parent of a backend we connect to. */
export async function postmasterPid(url: string): Promise<number> {
  // Read while connected: the backend exits with the connection.
  return withClient(url, async (c) => {
    const backend = Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const fields = statFields(backend);
    if (!fields) throw new Error(`cannot read /proc/${backend}/stat (is the server on this machine?)`);
    return Number(fields[1]); // ppid
  });
}

/** CPU seconds so far of a postmaster and all its children, live and reaped. */
export function serverCpuSeconds(postmaster: number): number {
  const own = statFields(postmaster);
  if (!own) return NaN;
  // utime, stime, cutime, cstime are fields 14–17 of /proc/pid/stat (1-based), 11–14 after "pid (comm) ".
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}
