import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { MigrateEvent } from '../../src/migrate/events.js';
import { withClient } from '../../src/pg/connect.js';
import { prepareRouting } from '../../src/routing/prepare-routing.js';
import { runCarve, seededRandom, spawnCarve } from '../support/carve-cli.js';
import { createDatabase, useCluster } from '../support/cluster.js';
import { differingRoutes } from '../support/route-checksums.js';

/**
 * `carve migrate`, killed with SIGKILL in each step, then run again: the second run says where it
 * resumes from and finishes with a verified match (checked again here, independently). A small
 * three-database plan keeps it quick; the demo test runs migrate on all of CareSync.
 */
const MONOLITH = String.raw`
CREATE TABLE hospitals (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE patients (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, hospital_id integer REFERENCES hospitals,
                       name text NOT NULL, allergies text, updated_at timestamptz DEFAULT now());
CREATE TABLE visits (patient_id bigint NOT NULL REFERENCES patients, n integer NOT NULL, notes text, PRIMARY KEY (patient_id, n));
CREATE TABLE documents (id uuid PRIMARY KEY, patient_id bigint REFERENCES patients, body text);
INSERT INTO hospitals SELECT g, 'hospital ' || g FROM generate_series(1, 50) g;
INSERT INTO patients (hospital_id, name, allergies) SELECT 1 + g % 50, 'patient ' || g, CASE WHEN g % 4 = 0 THEN 'nuts' END
  FROM generate_series(1, 20000) g;
INSERT INTO visits SELECT 1 + g / 3, g % 3, repeat('v', g % 100) FROM generate_series(0, 29999) g;
INSERT INTO documents SELECT md5(g::text)::uuid, 1 + g % 20000, repeat(md5(g::text), 50) FROM generate_series(1, 1500) g;
ANALYZE;
`;

function planText(name: string): string {
  return [
    `name: ${name}`,
    'source: ${MONOLITH_URL}',
    'target: ${TARGET_URL}',
    'services:',
    '  patient:',
    '    database: patient_db',
    '    tables: { patients: {}, documents: {} }',
    '  clinical:',
    '    database: clinical_db',
    '    tables: { visits: { columns: { visit_no: { from: n } } } }',
    '  shared:',
    '    database: shared_db',
    '    readonly: true',
    '    tables: { hospitals: {} }',
    'projections:',
    '  - { from: patients, to: clinical.patient_names, columns: [id, name] }',
    '',
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'carve-migrate-kill-'));
let source: LocalCluster;
let sourceUrl: string;

beforeAll(async () => {
  source = await useCluster({ name: 'mk-src' });
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) => c.query(MONOLITH));
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
      const file = join(dir, `${step}.yaml`);
      writeFileSync(file, planText(`kill_${step}`));
      const env = {
        MONOLITH_URL: sourceUrl,
        TARGET_URL: target.url(),
        CARVE_SECRETS_DIR: join(dir, 'secrets'),
      };
      const args = ['migrate', '--plan', file, '--json', '--chunk-size', '0.1', '--jobs', '2'];

      const { child, done } = spawnCarve(args, env);
      // Short steps (sync catches up an idle monolith quickly) get short delays.
      const delay = Math.round(random() * { provision: 150, copy: 400, sync: 300, verify: 150 }[step]);
      let armed = false;
      let killedIn: string | undefined;
      let seen = '';
      // The sync step only waits for a backlog: give it one, written while the copy runs (after
      // the slot exists), so that the kill lands while changes are being applied.
      let backlog: Promise<unknown> | undefined;
      child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (step === 'sync' && !backlog && seen.includes('"type":"copy-started"')) {
          backlog = withClient(sourceUrl, (c) =>
            c.query(`UPDATE visits SET notes = notes || 'x'; UPDATE patients SET name = name || ' ';
                     UPDATE visits SET notes = notes || 'y'`),
          );
        }
        if (!armed && seen.includes(`"type":"step-started","step":"${step}"`)) {
          armed = true;
          setTimeout(() => {
            // Which step was running when the kill was sent (output already read).
            const started = [...seen.matchAll(/"type":"step-started","step":"(\w+)"/g)].map((m) => m[1]);
            const finished = seen.includes(`"type":"step-done","step":"${step}"`);
            killedIn = finished ? `after ${step}` : started.at(-1);
            child.kill('SIGKILL');
          }, delay);
        }
      });
      const first = await done;
      await backlog;
      expect(armed, `step ${step} never started:\n${first.stdout.slice(-2000)}\n${first.stderr}`).toBe(true);
      expect(first.signal, `finished before the kill (${delay} ms after ${step} began)`).toBe('SIGKILL');
      expect(killedIn, `the kill was meant for ${step} (${delay} ms after it began)`).toBe(step);

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
      const slot = await withClient(
        sourceUrl,
        async (c) =>
          (
            await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
              routing.names.slot,
            ])
          ).rows[0],
      );
      expect(slot).toEqual({ active: false });
    }, 240_000);
  }
});
