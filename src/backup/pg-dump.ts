import { spawn } from 'node:child_process';
import { clientConfig } from '../pg/connect.js';
import { CarveError } from '../errors.js';
import { isSecretParameter } from '../pg/redact.js';

/**
 * Running pg_dump and pg_restore without a password on their command line (where `ps` shows it):
 * the URL given to them has its password and secret parameters removed, and the password goes
 * through PGPASSWORD in the child's environment only.
 */
export interface ToolConnection {
  /** A libpq connection URI without any secret. */
  dbname: string;
  env: NodeJS.ProcessEnv;
}

export function toolConnection(url: string): ToolConnection {
  const parsed = new URL(url);
  const config = clientConfig(url);
  const password = typeof config.password === 'string' ? config.password : undefined;
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()])
    if (isSecretParameter(key)) parsed.searchParams.delete(key);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (password !== undefined && password !== '') env.PGPASSWORD = password;
  return { dbname: parsed.toString(), env };
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a client tool to its end; ENOENT (not installed) becomes BACKUP_PG_DUMP_MISSING. */
export function runTool(path: string, args: string[], env: NodeJS.ProcessEnv): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'EACCES')
        reject(
          new CarveError('BACKUP_PG_DUMP_MISSING', `${path} cannot be run (${error.code})`, {
            details: { path },
            hint: "Install the PostgreSQL client tools of the monolith's major version or newer (e.g. apt-get install postgresql-client-15) and pass carve backup --pg-dump /usr/lib/postgresql/15/bin/pg_dump (pg_restore is taken from the same directory).",
            cause: error,
          }),
        );
      else reject(error);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** "pg_dump (PostgreSQL) 15.8 (Debian 15.8-1)" → { text: '15.8', major: 15 }. */
export function parseToolVersion(output: string): { text: string; major: number } {
  const match = /\)\s*(\d+)(?:\.(\d+))?/.exec(output) ?? /(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return { text: output.trim(), major: 0 };
  return { text: match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}`, major: Number(match[1]) };
}

/** `"schema"."name"` as a pg_dump -t pattern matching exactly that table (no wildcards). */
export function exactTablePattern(schema: string, name: string): string {
  const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
  return `${quote(schema)}.${quote(name)}`;
}

/** The entries of `pg_restore --list` output (comment lines left out). */
export function tocEntries(list: string): string[] {
  return list.split('\n').filter((line) => line.trim() !== '' && !line.startsWith(';'));
}

/** Whether the table of contents holds the data of `schema.name` ("… TABLE DATA public patients owner"). */
export function hasTableData(entries: readonly string[], schema: string, name: string): boolean {
  const needle = ` TABLE DATA ${schema} ${name} `;
  return entries.some((line) => line.includes(needle));
}
