import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CarveError } from '../errors.js';
import type { ServiceRoute } from '../routing/model.js';

/**
 * Passwords of the service roles. A role's password comes from the environment variable its
 * service names (`password_env`), else from `<secrets dir>/<role>.password`, generated on first
 * use and written with mode 0600 in a 0700 directory. Passwords are never printed, logged or sent
 * to the server: the server only receives a SCRAM-SHA-256 verifier.
 */

/** `$CARVE_SECRETS_DIR/<migration>`, else `~/.carve/secrets/<migration>`. */
export function defaultSecretsDir(
  migration: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return join(env.CARVE_SECRETS_DIR ?? join(homedir(), '.carve', 'secrets'), migration);
}

export function passwordFile(secretsDir: string, role: string): string {
  return join(secretsDir, `${encodeURIComponent(role)}.password`);
}

export interface RoleSecrets {
  /** role → SCRAM verifier */
  verifiers: Map<string, string>;
  /** Password files written by this call. */
  written: string[];
}

/**
 * Resolve the password of every given service, checking first that every `password_env` is set
 * (so a missing variable fails before any file or server is touched).
 */
export function resolveRoleSecrets(
  services: readonly ServiceRoute[],
  options: { secretsDir: string; env?: Readonly<Record<string, string | undefined>> },
): RoleSecrets {
  const env = options.env ?? process.env;
  const missing = services.filter((s) => s.passwordEnv && env[s.passwordEnv] === undefined);
  if (missing.length > 0) {
    throw new CarveError(
      'PROVISION_PASSWORD_ENV',
      `Password variable(s) not set: ${missing.map((s) => `${s.passwordEnv} (role ${s.role})`).join(', ')}`,
      {
        details: { variables: missing.map((s) => s.passwordEnv), roles: missing.map((s) => s.role) },
        hint: 'Export the variables named by `password_env`, or remove `password_env` to let carve generate the passwords.',
      },
    );
  }
  const verifiers = new Map<string, string>();
  const written: string[] = [];
  for (const service of services) {
    let password: string;
    if (service.passwordEnv) {
      password = env[service.passwordEnv]!;
    } else {
      const file = passwordFile(options.secretsDir, service.role);
      if (existsSync(file)) {
        password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } else {
        password = randomBytes(24).toString('base64url');
        writeSecret(options.secretsDir, file, password);
        written.push(file);
      }
    }
    verifiers.set(service.role, scramVerifier(password));
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
