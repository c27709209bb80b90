import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROZEN_SQLSTATE, readServicePhases } from '../../src/cutover/index.js';
import { withClient } from '../../src/pg/connect.js';
import { runCarve, seededRandom, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { CUTOVER_MONOLITH, CUTOVER_PLAN, visitLoad, writeError } from '../support/cutover-fixture.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * `carve cutover` and `carve rollback` killed with SIGKILL at each of their steps (two trials per
 * step: held there by CARVE_TEST_PAUSE_AT, and at random moments), then run again: the rerun converges — cut over with
 * the monolith frozen, or rolled back with every write the service made in its database back in
 * the monolith. No carve sync runs: cutover streams forward in its own process, rollback the
 * reverse stream; a write load keeps writing another service's table on the monolith throughout.
 */
const CUTOVER_STEPS = [
  'pre-checks',
  'freeze',
  'drain',
  'verify',
  'sequences',
  'journal',
  'reverse',
  'unfreeze-service',
  'switch',
];
const ROLLBACK_STEPS = [
  'freeze-service',
  'drain-reverse',
  'verify',
  'sequences',
  'unfreeze-monolith',
  'drop-reverse',
  'journal',
];

let m: Migration;
let planFile: string;
let load: ReturnType<typeof visitLoad> | undefined;

beforeAll(async () => {
  const clusters = await useMigrationClusters('cutkill');
  m = await prepareMigration(clusters, {
    name: 'cutkill',
    monolithSql: CUTOVER_MONOLITH,
    planBody: CUTOVER_PLAN,
  });
  await runCopy(m.routing);
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-cutover-kill-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
  load = visitLoad(m.sourceUrl);
}, 120_000);

afterAll(async () => {
  await load?.stop();
});

const patient = () => m.routing.services.find((s) => s.name === 'patient')!;

function args(command: 'cutover' | 'rollback'): string[] {
  return [command, '--plan', planFile, '--service', 'patient', '--json', '--secrets-dir', m.secretsDir];
}

/**
 * Run the command and kill it at `step`: held there (pause: CARVE_TEST_PAUSE_AT, so the kill lands
 * before the step's work), or `delayMs` after the step started (random: the kill lands inside the
 * step or a later one). Returns whether it was killed (a random kill may come after the end).
 */
async function killAt(
  command: 'cutover' | 'rollback',
  step: string,
  delayMs: number | 'pause',
): Promise<boolean> {
  const { child, done } = spawnCarve(args(command), delayMs === 'pause' ? { CARVE_TEST_PAUSE_AT: step } : {});
  let seen = '';
  let armed = false;
  const marker = `"type":"step-started","command":"${command}","step":"${step}"`;
  child.stdout!.on('data', (d: Buffer) => {
    seen += d.toString();
    if (armed || !seen.includes(marker)) return;
    armed = true;
    if (delayMs === 'pause') child.kill('SIGKILL');
    else setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  const run = await done;
  if (delayMs === 'pause')
    expect(run.signal, `${command} never reached ${step}:\n${run.stdout.slice(-1500)}\n${run.stderr}`).toBe(
      'SIGKILL',
    );
  else if (run.signal !== 'SIGKILL') expect(run.code, run.stderr).toBe(0);
  return run.signal === 'SIGKILL';
}

function result(run: CliRun): Record<string, unknown> {
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"type":"result"'));
  expect(line, `${run.stdout.slice(-1500)}\n${run.stderr}`).toBeTruthy();
  return JSON.parse(line!) as Record<string, unknown>;
}

/** The service's own tables match on both sides (visits is under load, the projection follows the forward stream). */
async function ownedMismatches(): Promise<unknown[]> {
  return (await mismatchedRoutes(m.routing)).filter((r) => r.route.startsWith('patient_db/'));
}

describe('cutover and rollback killed at every step', () => {
  // Each run is killed at the next step, so the run after a kill at step N is itself killed at
  // step N+1: every step is reached from the state a kill left, and the last run converges.
  // Trial 1 holds each run at the step (the kill lands before its work), trial 2 kills at random
  // moments after the step starts (inside it, or in a later step).
  const random = seededRandom(12);
  for (const trial of [1, 2] as const) {
    it(`trial ${trial}: cutover killed at each step, rerun; rollback killed at each step, rerun`, async () => {
      const killed: string[] = [];
      for (const step of CUTOVER_STEPS) {
        if (await killAt('cutover', step, trial === 1 ? 'pause' : Math.round(random() * 150)))
          killed.push(step);
      }
      const cut = await runCarve(args('cutover'));
      expect(cut.code, cut.stderr).toBe(0);
      expect(result(cut)).toMatchObject({ service: 'patient' });
      expect((await readServicePhases(m.routing)).find((p) => p.service === 'patient')).toMatchObject({
        phase: 'cut-over',
        steps: expect.arrayContaining(['journal', 'reverse', 'unfreeze-service', 'switch']),
      });
      expect(await writeError(m.sourceUrl, `UPDATE patients SET name = name WHERE id = 1`)).toMatchObject({
        code: FROZEN_SQLSTATE,
      });
      expect(await ownedMismatches()).toEqual([]);

      // The service writes its database; nothing streams them back until the rollback does.
      const ids = await withClient(patient().adminUrl, async (c) => {
        const { rows } = await c.query(
          `INSERT INTO patients (hospital_id, name) SELECT 4, 'service ' || g FROM generate_series(1, 5) g RETURNING id`,
        );
        await c.query(`UPDATE documents SET body = body || '+' WHERE id = ${trial}`);
        await c.query(`DELETE FROM documents WHERE id = ${100 + trial}`);
        return rows.map((r) => Number(r.id));
      });

      for (const step of ROLLBACK_STEPS) {
        if (await killAt('rollback', step, trial === 1 ? 'pause' : Math.round(random() * 150)))
          killed.push(`rollback ${step}`);
      }
      const back = await runCarve(args('rollback'));
      expect(back.code, back.stderr).toBe(0);
      expect(result(back)).toMatchObject({ service: 'patient' });
      expect((await readServicePhases(m.routing)).find((p) => p.service === 'patient')).toMatchObject({
        phase: 'streaming',
        frozenOnMonolith: [],
      });
      const inMonolith = await withClient(
        m.sourceUrl,
        async (c) =>
          (await c.query('SELECT count(*)::int AS n FROM patients WHERE id = ANY($1)', [ids])).rows[0].n,
      );
      expect(inMonolith).toBe(ids.length);
      expect(await ownedMismatches()).toEqual([]);
      // The monolith takes patient's writes again, with ids past the service's.
      const id = await withClient(m.sourceUrl, async (c) =>
        Number(
          (await c.query(`INSERT INTO patients (hospital_id, name) VALUES (5, 'monolith') RETURNING id`))
            .rows[0].id,
        ),
      );
      expect(id).toBeGreaterThan(Math.max(...ids));
      if (trial === 1) expect(killed.length).toBe(CUTOVER_STEPS.length + ROLLBACK_STEPS.length);
      else expect(killed.length).toBeGreaterThan(4);
    }, 300_000);
  }

  it('status exits 5 when a cut-over service has no reverse stream running', async () => {
    const dry = await runCarve([
      'cutover',
      '--plan',
      planFile,
      '--service',
      'patient',
      '--dry-run',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('2. freeze (monolith)');
    expect(dry.stdout).toContain('IN EXCLUSIVE MODE');
    expect(dry.stdout).toContain('6. journal');
    const cut = await runCarve(args('cutover'));
    expect(cut.code, cut.stderr).toBe(0);
    const text = await runCarve(['status', '--plan', planFile, '--secrets-dir', m.secretsDir]);
    expect(text.code).toBe(5);
    expect(text.stdout).toMatch(/patient +patient_db +cut-over/);
    expect(text.stdout).toContain('REVERSE_NOT_RUNNING');
    const status = await runCarve(['status', '--plan', planFile, '--json', '--secrets-dir', m.secretsDir]);
    expect(status.code).toBe(5);
    const body = JSON.parse(status.stdout) as {
      alerts: { code: string }[];
      services: { service: string; phase: string }[];
    };
    expect(body.alerts[0]).toMatchObject({ code: 'REVERSE_NOT_RUNNING' });
    expect(body.services.find((s) => s.service === 'patient')).toMatchObject({ phase: 'cut-over' });
    const back = await runCarve(args('rollback'));
    expect(back.code, back.stderr).toBe(0);
  }, 120_000);

  it("cancel removes every freeze, the slot, the publication and carve's schema on the monolith", async () => {
    await load?.stop();
    load = undefined;
    const refused = await runCarve(['cancel', '--plan', planFile, '--json', '--secrets-dir', m.secretsDir]);
    expect(refused.code).toBe(2); // without --yes
    const run = await runCarve([
      'cancel',
      '--plan',
      planFile,
      '--yes',
      '--json',
      '--secrets-dir',
      m.secretsDir,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      unfrozenInService: ['patient'],
      teardown: { slotDropped: true, publicationDropped: true },
      monolithSchemaDropped: true,
    });
    const left = await withClient(m.sourceUrl, async (c) => ({
      triggers: (await c.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`)).rows,
      schema: (await c.query(`SELECT to_regnamespace('carve') IS NOT NULL AS p`)).rows[0].p,
    }));
    expect(left).toEqual({ triggers: [], schema: false });
    expect(await writeError(patient().adminUrl, `UPDATE patients SET name = name WHERE id = 1`)).toBeNull();
  }, 120_000);
});
