import { existsSync, readdirSync, statSync } from 'node:fs';
import { CarveError } from '../errors.js';
import { parseToolVersion, runTool } from './pg-dump.js';

/** The output directory must not exist or be empty: a backup never mixes with other files. */
export function checkOutDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory())
    throw new CarveError('BACKUP_OUT_NOT_EMPTY', `${dir} exists and is not a directory`, {
      details: { dir },
      hint: 'Give --out a new directory name (carve creates it).',
    });
  const entries = readdirSync(dir);
  if (entries.length > 0)
    throw new CarveError('BACKUP_OUT_NOT_EMPTY', `${dir} is not empty (${entries.length} entries)`, {
      details: { dir, entries: entries.slice(0, 10) },
      hint: `Give --out a new or empty directory. If ${dir} holds an interrupted backup (no manifest.json), remove it first.`,
    });
}

/** pg_dump's version; it must be at least the server's major version to dump it. */
export async function checkPgDump(
  pgDump: string,
  serverMajor: number,
  /** carve's own choice without --pg-dump (beside the server binaries): named when it is new enough. */
  usual?: string,
): Promise<{ text: string; major: number }> {
  const run = await runTool(pgDump, ['--version'], process.env);
  const version = parseToolVersion(run.stdout);
  if (run.code !== 0 || version.major === 0)
    throw new CarveError('BACKUP_PG_DUMP_MISSING', `${pgDump} --version failed: ${run.stderr.trim()}`, {
      details: { path: pgDump },
      hint: "Install the PostgreSQL client tools of the monolith's major version or newer (e.g. apt-get install postgresql-client-15) and pass carve backup --pg-dump /usr/lib/postgresql/15/bin/pg_dump (pg_restore is taken from the same directory).",
    });
  if (version.major < serverMajor) {
    const better = await newEnough(usual, pgDump, serverMajor);
    throw new CarveError(
      'BACKUP_PG_DUMP_TOO_OLD',
      `${pgDump} is version ${version.text}; the monolith runs PostgreSQL ${serverMajor}`,
      {
        details: { path: pgDump, pgDump: version.text, server: serverMajor },
        hint: better
          ? `Pass carve backup --pg-dump ${better.path} (version ${better.text}, beside this machine's PostgreSQL server; pg_restore is taken from the same directory).`
          : `Install pg_dump ${serverMajor} or newer (e.g. apt-get install postgresql-client-${serverMajor}) and pass carve backup --pg-dump /usr/lib/postgresql/${serverMajor}/bin/pg_dump.`,
      },
    );
  }
  return version;
}

/** `path` when it is another pg_dump, given by its full path, that can dump the server. */
async function newEnough(
  path: string | undefined,
  refused: string,
  serverMajor: number,
): Promise<{ path: string; text: string } | undefined> {
  if (path === undefined || path === refused || !path.includes('/')) return undefined;
  const run = await runTool(path, ['--version'], process.env).catch(() => undefined);
  if (!run || run.code !== 0) return undefined;
  const version = parseToolVersion(run.stdout);
  return version.major >= serverMajor ? { path, text: version.text } : undefined;
}
