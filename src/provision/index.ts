import type { Catalog } from '../catalog/model.js';
import type { Routing } from '../routing/model.js';
import { withCarveLogins } from '../routing/carve-logins.js';
import { createDatabaseObjects, createServerObjects, type NoteCreated } from './create-objects.js';
import type { ProvisionEvent, ProvisionResult } from './events.js';
import type { ProvisionOptions } from './options.js';
import { createPostLoadObjects, type PostLoadResult } from './post-load.js';
import { assertNoConflicts, checkTargets } from './preflight.js';
import { renderProvisionScript } from './render-schema.js';
import { defaultSecretsDir, resolveRoleSecrets } from './role-secrets.js';

export type { ProvisionConflict, ProvisionEvent, ProvisionResult } from './events.js';
export type { ProvisionOptions } from './options.js';

/**
 * Create the service databases, roles, schema objects and grants on the target server(s).
 * Everything is read and compared first: a conflicting object anywhere (same name, different
 * definition) fails with PROVISION_CONFLICT naming every one, before any write. Existing identical
 * objects are left alone, so running it twice changes nothing.
 */
export async function provision(
  catalog: Catalog,
  routing: Routing,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const emit = options.onEvent ?? (() => {});

  // Render without secrets to inspect; secrets are only resolved for roles that will be created.
  const draft = renderProvisionScript(catalog, routing, new Map());
  const { plans, conflicts, missingRoles, present } = await checkTargets(routing, draft, emit);
  assertNoConflicts(conflicts);

  const secretsDir = options.secretsDir ?? defaultSecretsDir(routing.names.migration, options.env);
  const env = options.env ? { env: options.env } : {};
  const secrets = resolveRoleSecrets(routing.services, { secretsDir, only: missingRoles, ...env });
  const script = renderProvisionScript(catalog, routing, secrets.verifiers);
  const created: ProvisionResult['created'] = [];
  const note: NoteCreated = (entry) => {
    created.push(entry);
    emit({ type: 'created', ...entry });
  };
  await createServerObjects(routing, script, plans, missingRoles, note);
  for (const plan of plans) await createDatabaseObjects(plan, script, note, emit);

  const postLoad = options.withIndexes ? await buildPostLoad(routing, options, secretsDir, emit) : [];
  return { created, present, passwordFiles: secrets.written, postLoad };
}

/** Indexes and foreign keys right away, built as carve's role of each database (never as the admin): see docs/security.md. */
async function buildPostLoad(
  routing: Routing,
  options: ProvisionOptions,
  secretsDir: string,
  emit: (event: ProvisionEvent) => void,
): Promise<PostLoadResult[]> {
  const postLoad: PostLoadResult[] = [];
  const sessions = withCarveLogins(routing, { secretsDir, ...(options.env ? { env: options.env } : {}) });
  for (const service of routing.services) {
    const result = await createPostLoadObjects(sessions, service.name, { jobs: options.jobs ?? 2 });
    postLoad.push(result);
    emit({ type: 'post-load', result });
  }
  return postLoad;
}
