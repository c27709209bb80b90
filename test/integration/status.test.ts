import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { readMigrationStatus } from '../../src/migrate/status.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { provisionMigration, runCopy } from '../support/copy-fixture.js';

/** `carve status` through a migration's life: provisioned, copy failed, copied, verified. */
let source: LocalCluster;
let target: LocalCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([
    useCluster({ name: 'status-src' }),
    useCluster({ name: 'status-dst' }),
  ]);
});

describe('carve status', () => {
  it('follows the phases and names a failed chunk with what to do', async () => {
    const url = await createDatabase(source, 'mono');
    await withClient(url, (c) =>
      c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
               INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g; ANALYZE items;`),
    );
    const planText = stringify({
      name: 'status',
      source: url,
      target: target.url(),
      services: { s: { database: 'status_s', tables: { items: {} } } },
    });
    const file = join(mkdtempSync(join(tmpdir(), 'carve-status-')), 'plan.yaml');
    writeFileSync(file, planText);

    const { routing } = await provisionMigration(url, planText);
    expect(await readMigrationStatus(routing)).toMatchObject({
      phase: 'provisioned',
      copy: null,
      sync: null,
      verify: null,
    });

    await withClient(routing.services[0]!.url, (c) =>
      c.query('ALTER TABLE items ADD CONSTRAINT not_77 CHECK (id <> 77)'),
    );
    const partial = await runCopy(routing, { chunkBytes: 32 * 1024 });
    expect(partial.complete).toBe(false);
    const failed = await runCarve(['status', '--plan', file, '--json']);
    expect(failed.code, failed.stderr).toBe(0);
    const status = JSON.parse(failed.stdout);
    expect(status.phase).toBe('copy-failed');
    expect(status.copy.failures).toHaveLength(1);
    expect(status.copy.failures[0]).toMatchObject({ relation: 'public.items', sqlstate: '23514' });
    expect(status.copy.chunksDone).toBe(status.copy.chunks - 1);
    const human = await runCarve(['status', '--plan', file]);
    expect(human.stdout).toContain('copy-failed');
    expect(human.stdout).toContain('carve copy --resume');

    await withClient(routing.services[0]!.url, (c) => c.query('ALTER TABLE items DROP CONSTRAINT not_77'));
    const migrated = await runCarve(['migrate', '--plan', file, '--json']);
    expect(migrated.code, migrated.stderr).toBe(0);
    const after = JSON.parse((await runCarve(['status', '--plan', file, '--json'])).stdout);
    expect(after).toMatchObject({
      phase: 'verified',
      copy: { finished: true, chunksFailed: 0 },
      verify: { ok: true },
    });
    expect(after.sync.targets[0].appliedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  }, 180_000);
});
