import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quoteLiteral } from '../pg/quote.js';
import type { Routing } from '../routing/model.js';
import type { ProvisionScript } from './ddl-model.js';
import { renderPostLoad } from './render-post-load.js';
import { psqlConnect, psqlIf } from './sql-text.js';

export interface SqlFile {
  name: string;
  content: string;
  /** Holds password verifiers: written readable by its owner only (0600). */
  secret?: boolean;
}

/**
 * The --dry-run output: ordered psql scripts, each runnable with `psql -v ON_ERROR_STOP=1 -f`
 * against the target server (any database; each script connects where it needs to). Roles and
 * databases are created only when missing; each database's objects are created in one
 * transaction. Pure.
 *
 *   00_roles.sql                       login roles (service's and carve's), carve's memberships
 *   01_create_<service>_schema.sql …   database, state schema, types, sequences, tables
 *   NN_grants.sql                      ownership and privileges of every database
 *   NN_post_load_<service>.sql …       secondary indexes and kept foreign keys, after the load
 */
export function renderDryRunFiles(script: ProvisionScript, routing: Routing): SqlFile[] {
  const total = 2 + script.databases.length * 2;
  const width = Math.max(2, String(total).length);
  let n = 0;
  const fileName = (label: string) => `${String(n++).padStart(width, '0')}_${label}.sql`;
  const header = (what: string) =>
    `-- carve provision --dry-run: ${what}\n-- migration ${routing.names.migration}; apply in file order with: psql -v ON_ERROR_STOP=1 -f <file>\n\n`;
  const stmt = (sql: string) => `${sql};\n`;
  const files: SqlFile[] = [];

  files.push({
    name: fileName('roles'),
    secret: true,
    content:
      header(
        "two login roles per service, the service's and carve's (passwords are stored as SCRAM verifiers)",
      ) +
      script.roles
        .map(
          (r) =>
            `${psqlIf(`NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(r.role)})`, r.statements.join('; '))}\n`,
        )
        .join('') +
      `\n-- carve's roles: the service's rights (membership), replica mode for applying\n` +
      script.roleGrants.flatMap((g) => g.statements.map(stmt)).join(''),
  });

  for (const db of script.databases) {
    const name = db.service.database;
    const body = db.objects
      .map((o) => `-- ${o.kind} ${o.name}\n${o.statements.map(stmt).join('')}`)
      .join('\n');
    files.push({
      name: fileName(`create_${safe(db.service.name)}_schema`),
      content:
        header(`database ${name} of service ${db.service.name} and its schema objects`) +
        `${psqlIf(`NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${quoteLiteral(name)})`, db.database.statements.join('; '))}\n` +
        `${psqlConnect(name)}\nBEGIN;\n\n${body}\nCOMMIT;\n`,
    });
  }

  files.push({
    name: fileName('grants'),
    content:
      header('ownership and privileges') +
      script.databases
        .map((db) => `${psqlConnect(db.service.database)}\nBEGIN;\n${db.grants.map(stmt).join('')}COMMIT;\n`)
        .join('\n'),
  });

  for (const db of script.databases) {
    const objects = renderPostLoad(db.service);
    const body = objects
      .flatMap((o) => (o.kind === 'index' ? o.statements : [...o.add, ...o.validate]))
      .map(stmt)
      .join('');
    files.push({
      name: fileName(`post_load_${safe(db.service.name)}`),
      content:
        header(`secondary indexes and foreign keys of ${db.service.database}, to run after the data load`) +
        `${psqlConnect(db.service.database)}\n${body}`,
    });
  }
  return files;
}

export function writeSqlFiles(dir: string, files: SqlFile[]): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map((f) => {
    const path = join(dir, f.name);
    if (f.secret) {
      // A SCRAM verifier is enough to impersonate the server to a client, and to attack the
      // password offline. An earlier file of that name may have had a wider mode: narrow it first.
      if (existsSync(path)) chmodSync(path, 0o600);
      writeFileSync(path, f.content, { mode: 0o600 });
      chmodSync(path, 0o600);
    } else writeFileSync(path, f.content);
    return path;
  });
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '_');
}
