import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { seedMonolith } from '../../src/demo/seed/seed-monolith.js';
import type { MigrateEvent } from '../../src/migrate/migrate-events.js';
import { withClient } from '../../src/pg/connect.js';
import { prepareRouting } from '../../src/routing/prepare-routing.js';
import { runCarve, seededRandom, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { differingRoutes } from '../support/route-checksums.js';

/**
 * `carve migrate` on CareSync, killed with SIGKILL in each step, then run again: the second run says
 * where it resumes from and finishes with a verified match (checked again here, independently).
 */
const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'carve-migrate-kill-'));
let source: LocalCluster;
let sourceUrl: string;

beforeAll(async () => {
  source = await useCluster({ name: 'mk-src' });
  sourceUrl = await createDatabase(source, 'caresync');
  await seedMonolith({ url: sourceUrl, scale: 0.001, seed: 3 });
});

function events(stdout: string): MigrateEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as MigrateEvent);
}

describe('carve migrate killed in each step', () => {
  const random = seededRandom(42);
  for (const step of ['provision', 'copy', 'sync', 'verify'] as const) {
    it(`resumes after kill -9 during ${step} and ends verified`, async () => {
      const target = await useCluster({ name: `mk-${step}` });
      const plan = readFileSync(join(repoRoot, 'plans', 'caresync.yaml'), 'utf8').replace(/^name: caresync$/m, `name: caresync_${step}`);
      const file = join(dir, `${step}.yaml`);
      writeFileSync(file, plan);
      const env = { MONOLITH_URL: sourceUrl, TARGET_URL: target.url(), CARVE_SECRETS_DIR: join(dir, 'secrets') };
      const args = ['migrate', '--plan', file, '--json', '--chunk-size', '0.02', '--jobs', '2'];

      const { child, done } = spawnCarve(args, env);
      const delay = Math.round(random() * (step === 'provision' ? 150 : 400));
      let armed = false;
      let seen = '';
      child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (!armed && seen.includes(`"type":"step-started","step":"${step}"`)) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delay);
        }
      });
      const first = await done;
      expect(armed, `step ${step} never started:\n${first.stdout.slice(-2000)}\n${first.stderr}`).toBe(true);
      expect(first.signal, `finished before the kill (${delay} ms after ${step} began)`).toBe('SIGKILL');

      const second = await runCarve(args, env);
      expect(second.code, second.stderr).toBe(0);
      const log = events(second.stdout);
      const started = log.find((e) => e.type === 'migrate-started');
      const finished = log.find((e) => e.type === 'migrate-finished');
      if (step !== 'provision') expect(started).toMatchObject({ resumedFrom: expect.any(String) });
      expect(finished).toMatchObject({ report: { ok: true } });

      const { routing } = await prepareRouting(file, { env });
      expect(await differingRoutes(routing)).toEqual([]);
      // Nothing left running: the slot is idle and kept for the next sync.
      const slot = await withClient(sourceUrl, async (c) => (await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [routing.names.slot])).rows[0]);
      expect(slot).toEqual({ active: false });
    }, 240_000);
  }
});
