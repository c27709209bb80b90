import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CarveError } from '../../errors.js';

/** The environment variable that gives the dashboard's token instead of the file. */
export const SERVE_TOKEN_ENV = 'CARVE_SERVE_TOKEN';

export interface ServeToken {
  token: string;
  /** Where it came from: the variable, or the file (path given). */
  source: 'env' | 'file';
  file: string | null;
}

/**
 * The token every request to `carve serve` must carry. From $CARVE_SERVE_TOKEN when set (at least
 * 16 characters), else `<secrets dir>/serve.token`, generated on first use with mode 0600 in a 0700
 * directory, like the role passwords. It is never printed: the CLI names the file.
 */
export function resolveServeToken(
  secretsDir: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ServeToken {
  const fromEnv = env[SERVE_TOKEN_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv.length < 16 || /\s/.test(fromEnv))
      throw new CarveError(
        'SERVE_TOKEN_FILE',
        `${SERVE_TOKEN_ENV} must be at least 16 characters, without blanks`,
        {
          details: { variable: SERVE_TOKEN_ENV },
          hint: `Unset ${SERVE_TOKEN_ENV} to have carve generate a token, or set a longer one (e.g. openssl rand -hex 24).`,
        },
      );
    return { token: fromEnv, source: 'env', file: null };
  }
  const file = join(secretsDir, 'serve.token');
  try {
    if (existsSync(file)) {
      // A token others could read is tightened, not trusted as is.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      const token = readFileSync(file, 'utf8').trim();
      if (token.length >= 16) return { token, source: 'file', file };
    }
    mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    if ((statSync(secretsDir).mode & 0o077) !== 0) chmodSync(secretsDir, 0o700);
    const token = randomBytes(32).toString('base64url');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return { token, source: 'file', file };
  } catch (cause) {
    throw new CarveError('SERVE_TOKEN_FILE', `Cannot read or write the dashboard token file ${file}`, {
      details: { file },
      hint: `Choose a writable directory with --secrets-dir (or CARVE_SECRETS_DIR), or set ${SERVE_TOKEN_ENV}.`,
      cause,
    });
  }
}
