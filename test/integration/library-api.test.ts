import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
// The package by its name (package self-reference through package.json "exports"), as a user
// imports it: this resolves to the built dist/, not to src/.
import {
  buildIndexesWithProvision,
  errorCatalogue,
  isCarveError,
  migrate,
  prepareRouting,
  readMigrationStatus,
  startSync,
  teardown,
  verify,
  type CarveErrorCode,
  type MigrateEvent,
  type SyncEvent,
} from 'carve';
import { withClient } from '../../src/pg/connect.js';
import { createDatabase } from '../support/cluster.js';
import { useMigrationClusters } from '../support/migration.js';

/** A small migration run entirely through the public API. */
let planFile: string;
let monolithUrl: string;

beforeAll(async () => {
  const { source, target } = await useMigrationClusters('library');
  monolithUrl = await createDatabase(source, 'shop');
  await withClient(monolithUrl, (c) =>
    c.query(`CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);
             CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, total numeric);
             INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 500) g;
             INSERT INTO orders SELECT g, 1 + g % 500, g * 1.5 FROM generate_series(1, 2000) g;`),
  );
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-library-')), 'plan.yaml');
  writeFileSync(
    planFile,
    stringify({
      name: 'library',
      source: monolithUrl,
      target: target.url(),
      services: {
        customers: { database: 'customers_db', tables: { customers: {} } },
        orders: { database: 'orders_db', tables: { orders: {} } },
      },
    }),
  );
});

describe("import … from 'carve'", () => {
  it('migrates, streams, verifies, reports status and tears down through the API', async () => {
    const prepared = await prepareRouting(planFile);
    const steps: string[] = [];
    const report = await migrate({
      prepared,
      buildIndexes: buildIndexesWithProvision,
      secretsDir: mkdtempSync(join(tmpdir(), 'carve-library-secrets-')),
      onEvent: (event: MigrateEvent) => {
        if (event.type === 'step-done') steps.push(event.step);
      },
    });
    expect(report.ok).toBe(true);
    expect(steps).toEqual(['provision', 'copy', 'sync', 'verify']);

    // A change made afterwards streams with startSync, and verify sees it.
    const events: SyncEvent['type'][] = [];
    const engine = await startSync({ routing: prepared.routing, onEvent: (e) => events.push(e.type) });
    try {
      await withClient(monolithUrl, (c) => c.query(`UPDATE orders SET total = 0 WHERE id <= 10`));
      await engine.waitForCatchUp();
      const result = await verify({ routing: prepared.routing, sync: engine });
      expect(result.ok).toBe(true);
    } finally {
      await engine.stop();
    }
    expect(events).toContain('stream-started');
    expect((await readMigrationStatus(prepared.routing)).phase).toBe('verified');

    // Errors are CarveErrors with a code from the catalogue, narrowed without casts.
    const locked = await startSync({ routing: prepared.routing });
    try {
      const second = await startSync({ routing: prepared.routing, lockWaitMs: 0 }).catch((e: unknown) => e);
      expect(isCarveError(second, 'MIGRATION_LOCKED')).toBe(true);
      if (isCarveError(second, 'MIGRATION_LOCKED')) expect(second.details.holder?.command).toBe('sync');
      const code: CarveErrorCode = 'MIGRATION_LOCKED';
      expect(errorCatalogue[code].exit).toBe('failed');
    } finally {
      await locked.stop();
    }
    expect(await teardown(prepared.routing)).toMatchObject({ slotDropped: true, publicationDropped: true });
  });
});
