import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { CarveError } from '../errors.js';
import { passwordFile, readPasswordFile } from '../routing/carve-logins.js';
import type { ServiceRoute } from '../routing/model.js';

export { defaultSecretsDir, passwordFile } from '../routing/carve-logins.js';

/**
 * Passwords of the roles provision creates: each service's login role and carve's own role for
 * that service (docs/security.md). A role's password comes from the environment variable the plan
 * names (`password_env`, `carve_password_env`), else from `<secrets dir>/<role>.password`,
 * generated on first use and written with mode 0600 in a 0700 directory. Passwords are never
 * printed, logged or sent to the server: the server only receives a SCRAM-SHA-256 verifier.
 */

export interface RoleSecrets {
  /** role → SCRAM verifier */
  verifiers: Map<string, string>;
  /** Password files written by this call. */
  written: string[];
}

/** A login role and the variable its password may come from. */
export interface RoleLogin {
  role: string;
  passwordEnv?: string;
}

/** Both login roles of each service: the service's own, then carve's. */
export function serviceLogins(services: readonly ServiceRoute[]): RoleLogin[] {
  return services.flatMap((s) => [
    { role: s.role, ...(s.passwordEnv ? { passwordEnv: s.passwordEnv } : {}) },
    { role: s.carveRole, ...(s.carvePasswordEnv ? { passwordEnv: s.carvePasswordEnv } : {}) },
  ]);
}

/**
 * Resolve the password of both roles of every given service (or only of the roles in `only`),
 * checking first that every variable named is set (so a missing variable fails before any file
 * or server is touched).
 */
export function resolveRoleSecrets(
  services: readonly ServiceRoute[],
  options: {
    secretsDir: string;
    env?: Readonly<Record<string, string | undefined>>;
    only?: ReadonlySet<string>;
  },
): RoleSecrets {
  const env = options.env ?? process.env;
  const logins = serviceLogins(services).filter((l) => !options.only || options.only.has(l.role));
  const missing = logins.filter((l) => l.passwordEnv && env[l.passwordEnv] === undefined);
  if (missing.length > 0) {
    throw new CarveError(
      'PROVISION_PASSWORD_ENV',
      `Password variable(s) not set: ${missing.map((l) => `${l.passwordEnv} (role ${l.role})`).join(', ')}`,
      {
        details: { variables: missing.map((l) => l.passwordEnv), roles: missing.map((l) => l.role) },
        hint: 'Export the variables named by `password_env` / `carve_password_env`, or remove them to let carve generate the passwords.',
      },
    );
  }
  const verifiers = new Map<string, string>();
  const written: string[] = [];
  for (const login of logins) {
    let password: string | undefined;
    if (login.passwordEnv) {
      password = env[login.passwordEnv]!;
    } else {
      password = readPasswordFile(options.secretsDir, login.role);
      if (password === undefined) {
        const file = passwordFile(options.secretsDir, login.role);
        password = randomBytes(24).toString('base64url');
        writeSecret(options.secretsDir, file, password);
        written.push(file);
      }
    }
    verifiers.set(login.role, scramVerifier(password));
  }
  return { verifiers, written };
}

function writeSecret(dir: string, file: string, password: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
    writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    throw new CarveError('PROVISION_SECRETS_DIR', `Cannot write the role password file ${file}`, {
      details: { file },
      hint: 'Choose a writable directory with --secrets-dir (or CARVE_SECRETS_DIR).',
      cause,
    });
  }
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677), which it accepts
 * in CREATE ROLE … PASSWORD as is. Passwords are normalized with NFKC, the core of SASLprep.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
