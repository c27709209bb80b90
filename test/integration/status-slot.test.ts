import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster, waitFor } from '../support/cluster.js';

/**
 * `carve status` and `carve verify` when the migration's slot is lost for real: WAL past
 * max_slot_wal_keep_size (unreserved), invalidated by a checkpoint (lost), dropped by someone
 * (missing), and torn down on purpose. Each hint is followed as written.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
let planFile: string;
const secretsDir = mkdtempSync(join(tmpdir(), 'carve-status-slot-secrets-'));

beforeAll(async () => {
  [source, target] = await Promise.all([
    useCluster({ name: 'slot-src', settings: { max_slot_wal_keep_size: '1MB' } }),
    useCluster({ name: 'slot-dst' }),
  ]);
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) =>
    c.query(`CREATE TABLE items (id bigint PRIMARY KEY, label text);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 2000) g;`),
  );
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-status-slot-')), 'plan.yaml');
  writeFileSync(
    planFile,
    stringify({
      name: 'slotty',
      source: sourceUrl,
      target: target.url(),
      services: { s: { database: 'slotty_s', tables: { items: {} } } },
    }),
  );
});

async function status(...extra: string[]) {
  const run = await runCarve(['status', '--plan', planFile, '--json', ...extra]);
  return { code: run.code, stderr: run.stderr, status: JSON.parse(run.stdout) };
}

async function walStatus(): Promise<string | null> {
  return withClient(
    sourceUrl,
    async (c) =>
      (await c.query(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'carve_slotty'`)).rows[0]
        ?.wal_status ?? null,
  );
}

/** Write WAL past max_slot_wal_keep_size (several segment switches) without a checkpoint. */
let nextId = 10_000;
async function outgrowSlot(): Promise<void> {
  await withClient(sourceUrl, async (c) => {
    for (let i = 0; i < 4; i++) {
      await c.query(`INSERT INTO items SELECT g, 'more' FROM generate_series($1::int, $1::int + 500) g`, [
        nextId,
      ]);
      nextId += 1000;
      await c.query('SELECT pg_switch_wal()');
    }
  });
}

async function migrateFresh(): Promise<void> {
  const run = await runCarve(['migrate', '--plan', planFile, '--secrets-dir', secretsDir]);
  expect(run.code, run.stderr).toBe(0);
}

describe('carve status on a lost slot', () => {
  it('says loudly when the slot is unreserved, lost or missing, and the hints work', async () => {
    await migrateFresh();
    const healthy = await status();
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(healthy.status).toMatchObject({ phase: 'verified', alerts: [], slot: { exists: true } });

    // Retained WAL past a threshold while no sync runs: a warning, not a failure.
    await withClient(sourceUrl, (c) =>
      c.query(`INSERT INTO items SELECT g, 'w' FROM generate_series(3000, 3500) g`),
    );
    const retained = await status('--wal-warn', '1kB');
    expect(retained.code).toBe(0);
    expect(retained.status.alerts).toEqual([
      expect.objectContaining({ code: 'SLOT_WAL_RETAINED', severity: 'warning' }),
    ]);
    expect((await status()).status.alerts).toEqual([]); // the 1 GB default
    const human = await runCarve(['status', '--plan', planFile, '--wal-warn', '1kB']);
    expect(human.stdout).toContain('WARNING SLOT_WAL_RETAINED');

    // Past max_slot_wal_keep_size: the next checkpoint removes WAL the slot needs.
    await outgrowSlot();
    expect(await walStatus()).toBe('unreserved');
    const unreserved = await status();
    expect(unreserved.code).toBe(5);
    expect(unreserved.status.alerts[0]).toMatchObject({ code: 'SLOT_WAL_UNRESERVED', severity: 'error' });

    // Its hint, followed: a sync runs until status no longer reports it (the slot releases WAL as
    // the stream passes the monolith's periodic snapshot records); a checkpoint then keeps the slot.
    const follower = spawnCarve(['sync', '--plan', planFile]);
    await waitFor(async () => (await status()).status.alerts.length === 0, {
      timeoutMs: 90_000,
      intervalMs: 1000,
      what: 'the running sync to release the WAL',
    });
    follower.child.kill('SIGINT');
    expect((await follower.done).code).toBe(0);
    await withClient(sourceUrl, (c) => c.query('CHECKPOINT'));
    expect(await walStatus()).not.toBe('lost');
    const kept = await status();
    expect(kept.code, JSON.stringify(kept.status.alerts)).toBe(0);
    expect(kept.status.phase).toBe('verified');

    // Not followed: the checkpoint invalidates it.
    await outgrowSlot();
    expect(await walStatus()).toBe('unreserved');
    await withClient(sourceUrl, (c) => c.query('CHECKPOINT'));
    expect(await walStatus()).toBe('lost');
    const lost = await status();
    expect(lost.code).toBe(5);
    expect(lost.status.phase).toBe('slot-lost');
    expect(lost.status.alerts[0]).toMatchObject({ code: 'SLOT_LOST', severity: 'error' });
    expect(lost.status.alerts[0].hint).toContain(`carve teardown --plan ${planFile} --yes`);
    const loud = await runCarve(['status', '--plan', planFile]);
    expect(loud.code).toBe(5);
    expect(loud.stdout).toMatch(/^migration slotty: slot-lost\n {2}ERROR SLOT_LOST/);
    expect(loud.stdout).toContain('LOST (wal_status lost)');

    const verify = await runCarve(['verify', '--plan', planFile]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('VERIFY_SLOT_LOST');
    expect(verify.stderr).not.toContain('unexpected error');
    const sync = await runCarve(['sync', '--plan', planFile, '--until-caught-up']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toContain('SYNC_SLOT_LOST');

    // Follow the hint: teardown, drop the service databases, migrate.
    const teardown = await runCarve(['teardown', '--plan', planFile, '--yes']);
    expect(teardown.code, teardown.stderr).toBe(0);
    expect((await status()).status.phase).toBe('torn-down');
    await withClient(target.url(), (c) => c.query('DROP DATABASE slotty_s'));
    await migrateFresh();
    const again = await status();
    expect(again.code).toBe(0);
    expect(again.status).toMatchObject({ phase: 'verified', alerts: [] });

    // Someone drops the slot (the publication stays): missing.
    await withClient(sourceUrl, (c) => c.query(`SELECT pg_drop_replication_slot('carve_slotty')`));
    const missing = await status();
    expect(missing.code).toBe(5);
    expect(missing.status.phase).toBe('slot-lost');
    expect(missing.status.alerts[0]).toMatchObject({ code: 'SLOT_MISSING', severity: 'error' });
    const verifyMissing = await runCarve(['verify', '--plan', planFile]);
    expect(verifyMissing.code).toBe(1);
    expect(verifyMissing.stderr).toContain('VERIFY_SLOT_LOST');
  }, 240_000);
});
