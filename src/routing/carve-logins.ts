import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CarveError } from '../errors.js';
import { withPassword } from '../pg/connect.js';
import type { Routing, ServiceRoute } from './model.js';

/**
 * Where role passwords live, and how carve's own sessions find theirs.
 *
 * carve logs in to each service database as that service's carve role (ServiceRoute.carveRole),
 * never as the admin. Its password comes from the service's `carve_password_env` variable, else
 * from `<secrets dir>/<role>.password` (written by `carve provision`, mode 0600); without either,
 * the URL carries none and the server's rules decide (~/.pgpass, trust, certificates).
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

/** A password file's content (its trailing newline removed), or undefined when there is none. */
export function readPasswordFile(secretsDir: string, role: string): string | undefined {
  const file = passwordFile(secretsDir, role);
  return existsSync(file) ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : undefined;
}

export interface CarveLoginOptions {
  /** Default defaultSecretsDir(migration). */
  secretsDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The routing with each service's session URL carrying its carve role's password, when one is
 * known. A `carve_password_env` that is not set fails (naming it) before any connection.
 */
export function withCarveLogins(routing: Routing, options: CarveLoginOptions = {}): Routing {
  const env = options.env ?? process.env;
  const secretsDir = options.secretsDir ?? defaultSecretsDir(routing.names.migration, env);
  const unset = routing.services.filter((s) => s.carvePasswordEnv && env[s.carvePasswordEnv] === undefined);
  if (unset.length > 0) {
    throw new CarveError(
      'TARGET_PASSWORD_ENV',
      `Password variable(s) of carve's roles not set: ${unset.map((s) => `${s.carvePasswordEnv} (role ${s.carveRole})`).join(', ')}`,
      {
        details: {
          variables: unset.map((s) => s.carvePasswordEnv),
          roles: unset.map((s) => s.carveRole),
        },
        hint: 'Export the variables named by `carve_password_env` (the passwords carve provision gave those roles).',
      },
    );
  }
  const services = routing.services.map((service): ServiceRoute => {
    const password = service.carvePasswordEnv
      ? env[service.carvePasswordEnv]
      : readPasswordFile(secretsDir, service.carveRole);
    return password === undefined ? service : { ...service, url: withPassword(service.url, password) };
  });
  return { ...routing, services };
}
