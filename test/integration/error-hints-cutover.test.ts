import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../src/cluster/local-cluster.js';
import { startDashboardServer } from '../../src/observe/serve/dashboard-server.js';
import { connect, withClient } from '../../src/pg/connect.js';
import { prepareRouting } from '../../src/routing/prepare-routing.js';
import { runCarve, spawnCarve, type CliRun } from '../support/carve-cli.js';
import { createDatabase, waitFor } from '../support/cluster.js';
import { CUTOVER_MONOLITH, CUTOVER_PLAN, writeError } from '../support/cutover-fixture.js';
import { useMigrationClusters } from '../support/migration.js';
import { jsonError, fails, succeeds, useLeftovers } from '../support/cli-errors.js';

/**
 * The error codes of cutover, rollback and the dashboard's actions, each triggered through the CLI
 * as an operator meets it, and its hint then followed literally: the command (or the one the hint
 * names) succeeds afterwards and both sides hold the same rows. One migration on one pair of
 * clusters (test/support/cutover-fixture.ts); the steps build on each other, so they run in order.
 */
let source: LocalCluster;
let target: LocalCluster;
let sourceUrl: string;
let planFile: string;
const work = mkdtempSync(join(tmpdir(), 'carve-error-hints-cutover-'));
const secretsDir = join(work, 'secrets');
const cli = (...args: string[]) => [...args, '--plan', planFile, '--secrets-dir', secretsDir];
const patientDb = () => target.url('hc_patient');
/** The `carve sync` running beside the steps (started after the first one). */
let sync: { child: ChildProcess; done: Promise<CliRun> } | undefined;
let syncOutput = '';

beforeAll(async () => {
  ({ source, target } = await useMigrationClusters('hints-cutover'));
  sourceUrl = await createDatabase(source, 'mono');
  await withClient(sourceUrl, (c) => c.query(CUTOVER_MONOLITH));
  planFile = join(work, 'plan.yaml');
  writeFileSync(
    planFile,
    `name: hc\nsource: ${sourceUrl}\ntarget: ${target.url()}\n${CUTOVER_PLAN.replaceAll(/\b(patient|clinical|shared)_db\b/g, 'hc_$1')}`,
  );
  await succeeds(cli('migrate'));
}, 60_000);

afterAll(async () => {
  if (sync && sync.child.exitCode === null && sync.child.signalCode === null) {
    sync.child.kill('SIGCONT');
    sync.child.kill('SIGINT');
    await sync.done;
  }
});

const leftovers = useLeftovers();

/** Waits until some backend of `url`'s server waits on a lock, in database `datname`. */
async function someoneWaits(url: string, datname: string, what: string): Promise<void> {
  await waitFor(
    () =>
      withClient(url, async (c) => {
        const { rows } = await c.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [datname],
        );
        return rows.length > 0;
      }),
    { what },
  );
}

/** count and md5 of patients (every column the service has) on both sides. */
async function patientsBothSides(): Promise<{ monolith: unknown; service: unknown }> {
  const sql = `SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, hospital_id, name, allergies), ',' ORDER BY id)) AS h FROM patients`;
  const monolith = await withClient(sourceUrl, async (c) => (await c.query(sql)).rows[0]);
  const service = await withClient(patientDb(), async (c) => (await c.query(sql)).rows[0]);
  return { monolith, service };
}

async function phaseOf(service: string): Promise<string> {
  // exit 5 while a cut-over service has no reverse stream running (no carve sync)
  const run = await runCarve(cli('status', '--json'));
  expect([0, 5], run.stderr).toContain(run.code);
  const status = JSON.parse(run.stdout) as { services: { service: string; phase: string }[] };
  return status.services.find((s) => s.service === service)!.phase;
}

async function startSync(): Promise<void> {
  // Not a leftover: it runs across the steps (afterAll stops it).
  sync = spawnCarve(cli('sync'));
  syncOutput = '';
  sync.child.stderr!.on('data', (d: Buffer) => (syncOutput += d));
  sync.child.stdout!.on('data', (d: Buffer) => (syncOutput += d));
  await waitFor(
    async () => {
      const run = await runCarve(cli('status', '--json'));
      const status = JSON.parse(run.stdout) as { sync?: { targets?: { lagSeconds: number | null }[] } };
      const targets = status.sync?.targets;
      return !!targets?.length && targets.every((t) => t.lagSeconds !== null && t.lagSeconds < 1);
    },
    { timeoutMs: 60_000, intervalMs: 300, what: 'carve sync to catch up' },
  );
}

async function stopSync(): Promise<void> {
  sync!.child.kill('SIGINT');
  const stopped = await sync!.done;
  expect(stopped.code, stopped.stderr).toBe(0);
  sync = undefined;
}

describe('cutover error hints, followed literally', () => {
  it('VERIFY_MIGRATION_BUSY, CUTOVER_MIGRATION_BUSY: wait for the other command to finish, then run it again', async () => {
    // A carve verify (no sync runs, so it takes the migration lock) waits for a monolith
    // transaction to end before it can take its consistent point.
    const blocker = await connect(sourceUrl);
    await blocker.query('BEGIN');
    await blocker.query('SELECT txid_current()');
    const first = spawnCarve(cli('verify', '--catch-up'));
    leftovers.push(first.child);
    await someoneWaits(sourceUrl, 'mono', 'the first verify to wait for the open transaction');

    const verifyBusy = await fails(cli('verify', '--catch-up'), 'VERIFY_MIGRATION_BUSY');
    expect(verifyBusy.hint).toContain('wait for the other command to finish');
    const cutoverBusy = await fails(cli('cutover', '--service', 'clinical'), 'CUTOVER_MIGRATION_BUSY');
    expect(cutoverBusy.hint).toContain('wait for the other carve command to finish, then run it again');
    expect(await phaseOf('clinical')).toBe('streaming');

    // The other command finishes; then both run.
    await blocker.query('COMMIT');
    await blocker.end();
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    await succeeds(cli('verify', '--catch-up'));
    await succeeds(cli('cutover', '--service', 'clinical'));
    expect(await phaseOf('clinical')).toBe('cut-over');
    expect((await writeError(sourceUrl, `UPDATE visits SET notes = 'x' WHERE id = 1`))?.code).toBe('CV001');
  }, 60_000);

  it('CUTOVER_SLOT_UNHEALTHY: carve status names the slot alert; its hint followed, the cutover runs', async () => {
    await startSync();
    // The sync stops acknowledging (a stalled process keeps its connections), and the monolith
    // keeps no WAL for slots beyond 1 MB: once the WAL moves to a new segment, the slot's WAL is
    // unreserved (a checkpoint would remove it).
    sync!.child.kill('SIGSTOP');
    await withClient(source.url(), async (c) => {
      await c.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'`);
      await c.query('SELECT pg_reload_conf()');
    });
    await withClient(sourceUrl, async (c) => {
      await c.query(`UPDATE patients SET allergies = 'pollen' WHERE id = 2`);
      await c.query('SELECT pg_switch_wal()');
      await c.query(`UPDATE patients SET allergies = 'dust' WHERE id = 3`);
    });
    const walStatus = () =>
      withClient(sourceUrl, async (c) => {
        const { rows } = await c.query(
          `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'carve_hc'`,
        );
        return rows[0]?.wal_status as string;
      });
    await waitFor(async () => (await walStatus()) === 'unreserved', { what: 'the slot to be unreserved' });

    const error = await fails(cli('cutover', '--service', 'patient'), 'CUTOVER_SLOT_UNHEALTHY');
    expect(error.hint).toContain(`carve status --plan ${planFile} says about slot carve_hc`);
    expect(await phaseOf('patient')).toBe('streaming');
    // The hint, followed: carve status says what to do about the slot.
    const status = JSON.parse((await runCarve(cli('status', '--json'))).stdout) as {
      alerts: { code: string; hint: string }[];
    };
    const alert = status.alerts.find((a) => a.code === 'SLOT_WAL_UNRESERVED');
    expect(alert, JSON.stringify(status.alerts)).toBeDefined();
    expect(alert!.hint).toContain('raise max_slot_wal_keep_size on the monolith and reload');
    await withClient(source.url(), async (c) => {
      await c.query(`ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'`);
      await c.query('SELECT pg_reload_conf()');
    });
    sync!.child.kill('SIGCONT');
    await waitFor(async () => (await walStatus()) === 'reserved', { what: 'the slot to be reserved again' });
    await succeeds(cli('cutover', '--service', 'patient'));
    expect(await phaseOf('patient')).toBe('cut-over');
    const both = await patientsBothSides();
    expect(both.service).toEqual(both.monolith);
  }, 60_000);

  it('SERVE_ACTION_UNAVAILABLE: a dashboard without actions names the carve command that does it', async () => {
    const { routing } = await prepareRouting(planFile, { logins: { secretsDir } });
    const token = 'a-token-for-this-test-only';
    const server = await startDashboardServer({ routing, token, port: 0, log: () => {} });
    try {
      const response = await fetch(`${server.url}api/actions/rollback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'patient' }),
      });
      expect(response.status).toBe(501);
      const body = (await response.json()) as { code: string; hint: string };
      expect(body.code).toBe('SERVE_ACTION_UNAVAILABLE');
      expect(await phaseOf('patient')).toBe('cut-over');
      // The hint, followed: the command it names, with the plan.
      const command = /Run carve (rollback --plan <plan> --service patient)\b/.exec(body.hint)?.[1];
      expect(command, body.hint).toBeDefined();
      const args = command!.split(' ').map((a) => (a === '<plan>' ? planFile : a));
      await succeeds([...args, '--secrets-dir', secretsDir]);
    } finally {
      await server.close();
    }
    expect(await phaseOf('patient')).toBe('streaming');
    expect(await writeError(sourceUrl, `UPDATE patients SET allergies = 'none' WHERE id = 4`)).toBeNull();
  }, 60_000);

  it('CUTOVER_DRAIN_TIMEOUT: the freeze is undone; once the lag is low the cutover runs again', async () => {
    // A session writing patients on the monolith (a lock, no transaction id yet) holds the freeze
    // back; the moment the freeze waits, a session in the service database locks patients against
    // the sync's writes, and the writer commits: the drain point is past a change the sync cannot
    // apply.
    const writer = await connect(sourceUrl);
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE patients IN ROW EXCLUSIVE MODE');
    const blocker = await connect(patientDb());
    const run = spawnCarve([...cli('cutover', '--service', 'patient', '--timeout', '3s'), '--json']);
    leftovers.push(run.child);
    let out = '';
    let released: Promise<void> | undefined;
    run.child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (!released && out.includes('"type":"freeze-retry"')) {
        released = (async () => {
          await blocker.query('BEGIN');
          await blocker.query('LOCK TABLE patients IN SHARE MODE');
          await writer.query(`UPDATE patients SET allergies = 'drained late' WHERE id = 1`);
          await writer.query('COMMIT');
        })();
      }
    });
    const done = await run.done;
    await released;
    await writer.end();
    const error = jsonError(done);
    expect(error.code, error.message).toBe('CUTOVER_DRAIN_TIMEOUT');
    expect(done.code).toBe(1);
    expect(error.hint).toContain('run the cutover again when the lag is low');
    // The freeze was undone: the monolith takes writes to patients again.
    expect(await phaseOf('patient')).toBe('streaming');
    expect(await writeError(sourceUrl, `UPDATE patients SET allergies = 'none' WHERE id = 5`)).toBeNull();
    // The hint, followed: carve status shows the lag; what held the sync back goes away; once the
    // lag is low, the cutover runs.
    await blocker.query('ROLLBACK');
    await blocker.end();
    let lastStatus = '';
    await waitFor(
      async () => {
        const text = (await runCarve(cli('status', '--json'))).stdout;
        lastStatus = text;
        const status = JSON.parse(text) as {
          sync: { targets: { database: string; lagSeconds: number | null }[] };
        };
        const lag = status.sync.targets.find((t) => t.database === 'hc_patient')?.lagSeconds;
        return lag !== null && lag !== undefined && lag < 1;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 300,
        what: 'the lag to be low',
        onTimeout: () =>
          `sync: ${sync?.child.exitCode} ${syncOutput.slice(-3000)} ${lastStatus.slice(0, 2000)}`,
      },
    );
    await succeeds(cli('cutover', '--service', 'patient'));
    const both = await patientsBothSides();
    expect(both.service).toEqual(both.monolith);
    const allergies = await withClient(
      patientDb(),
      async (c) => (await c.query('SELECT allergies FROM patients WHERE id = 1')).rows[0].allergies,
    );
    expect(allergies).toBe('drained late');
  }, 60_000);

  it('CUTOVER_ROLLBACK_UNFINISHED, ROLLBACK_VERIFY_FAILED, CUTOVER_SWITCH_FAILED: each hint, in turn', async () => {
    // The reverse stream stops carrying documents (its publication lost the table), and the
    // service writes one: the monolith's copy lacks it.
    await withClient(patientDb(), async (c) => {
      await c.query('ALTER PUBLICATION carve_hc_rev_patient DROP TABLE documents');
      await c.query(`INSERT INTO documents (patient_id, body) VALUES (9, 'written in the service')`);
    });
    // A rollback killed after freezing the service's tables.
    const first = spawnCarve([...cli('rollback', '--service', 'patient'), '--json']);
    leftovers.push(first.child);
    let out = '';
    first.child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (/"type":"step-done"[^}]*"step":"freeze-service"/.test(out)) first.child.kill('SIGKILL');
    });
    expect((await first.done).signal, out).toBe('SIGKILL');
    expect(await phaseOf('patient')).toBe('rolling-back');

    const unfinished = await fails(cli('cutover', '--service', 'patient'), 'CUTOVER_ROLLBACK_UNFINISHED');
    // The CLI's hints name the plan file it was given.
    const rollback = /carve (rollback --plan \S+ --service \S+?);/.exec(unfinished.hint)?.[1];
    expect(rollback, unfinished.hint).toBe(`rollback --plan ${planFile} --service patient`);

    const differs = await fails(
      [...rollback!.split(' '), '--secrets-dir', secretsDir],
      'ROLLBACK_VERIFY_FAILED',
    );
    // Both sides stay frozen.
    expect(await phaseOf('patient')).toBe('rolling-back');
    expect((await writeError(sourceUrl, `UPDATE documents SET body = 'x' WHERE id = 1`))?.code).toBe('CV001');
    expect((await writeError(patientDb(), `UPDATE documents SET body = 'x' WHERE id = 1`))?.code).toBe(
      'CV001',
    );
    // Its hint, followed: compare as it says…
    const compare = /carve (verify --plan \S+ --assume-static --tables \S+?);/.exec(differs.hint)?.[1];
    expect(compare, differs.hint).toBeDefined();
    const verifyRun = await runCarve([...compare!.split(' '), '--secrets-dir', secretsDir]);
    expect(verifyRun.code, verifyRun.stdout + verifyRun.stderr).toBe(4);
    expect(verifyRun.stdout).toContain('documents');
    // …stop carve sync, copy the service's rows into the monolith, roll back again.
    expect(differs.hint).toContain('stop carve sync');
    const recover = /carve (recover --plan \S+ --service \S+ --yes)/.exec(differs.hint)?.[1];
    expect(recover, differs.hint).toBe(`recover --plan ${planFile} --service patient --yes`);
    await stopSync();
    await succeeds([...recover!.split(' '), '--secrets-dir', secretsDir]);
    await succeeds([...rollback!.split(' '), '--secrets-dir', secretsDir]);
    expect(await phaseOf('patient')).toBe('streaming');
    const body = await withClient(
      sourceUrl,
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n FROM documents WHERE body = 'written in the service'`))
          .rows[0].n,
    );
    expect(body).toBe(1);

    // "then cut over again": with a switch command that fails, after the point of no return.
    await startSync();
    const switchFailed = await fails(
      cli('cutover', '--service', 'patient', '--on-switch', 'false'),
      'CUTOVER_SWITCH_FAILED',
    );
    expect(switchFailed.hint).toContain('then run carve cutover again');
    expect(await phaseOf('patient')).toBe('cut-over');
    // The hint, followed: the command fixed, the cutover run again finishes the remaining step.
    const marker = join(work, 'switched');
    const again = await succeeds([
      ...cli('cutover', '--service', 'patient', '--on-switch', `echo "$CARVE_SERVICE" > ${marker}`),
      '--json',
    ]);
    const result = again.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; resumed?: boolean; steps?: { step: string }[] })
      .find((l) => l.type === 'result');
    expect(result?.resumed).toBe(true);
    expect(result?.steps?.map((s) => s.step)).toEqual(['switch']);
    expect(readFileSync(marker, 'utf8').trim()).toBe('patient');
    const both = await patientsBothSides();
    expect(both.service).toEqual(both.monolith);
    await stopSync();
  }, 120_000);

  it('REVERSE_TABLE_MISSING: carve sync stops; the table put back under its name, it streams again', async () => {
    // patient is cut over and no carve sync runs; its documents table is renamed in its database.
    await withClient(patientDb(), (c) => c.query('ALTER TABLE documents RENAME TO documents_v2'));
    const error = await fails(cli('sync'), 'REVERSE_TABLE_MISSING');
    const rename = /ALTER TABLE … RENAME TO (\S+?)\)/.exec(error.hint)?.[1];
    expect(rename, error.hint).toBe('documents');
    expect(error.hint).toContain('then start carve sync again');
    await withClient(patientDb(), (c) => c.query(`ALTER TABLE documents_v2 RENAME TO ${rename}`));
    await startSync();
    // The service's writes reach the monolith again.
    await withClient(patientDb(), (c) =>
      c.query(`INSERT INTO documents (patient_id, body) VALUES (11, 'after the rename back')`),
    );
    await waitFor(
      () =>
        withClient(
          sourceUrl,
          async (c) =>
            (await c.query(`SELECT 1 FROM documents WHERE body = 'after the rename back'`)).rows.length > 0,
        ),
      { what: 'the reverse stream to bring the document into the monolith' },
    );
    await stopSync();
  }, 60_000);

  it('REVERSE_SLOT_MISSING (carve sync, carve status): carve recover as the hint says; the stream runs again, nothing lost', async () => {
    // patient is cut over and no carve sync runs; its reverse slot is dropped (a DBA's cleanup of
    // an inactive slot, a failover), and the service writes.
    await withClient(patientDb(), async (c) => {
      await c.query(`SELECT pg_drop_replication_slot('carve_hc_rev_patient')`);
      await c.query(`INSERT INTO documents (patient_id, body) VALUES (12, 'while the slot was gone')`);
      await c.query(`UPDATE patients SET allergies = 'slotless' WHERE id = 6`);
    });
    // carve sync stops at once (its forward stream would otherwise run while the monolith misses
    // the service's writes); carve status says the same.
    const stopped = await fails(cli('sync'), 'REVERSE_SLOT_MISSING');
    expect(stopped.hint).toContain(`carve recover --plan ${planFile} --service patient --yes`);
    const run = await runCarve(cli('status', '--json'));
    expect(run.code, run.stderr).toBe(5);
    const alerts = (JSON.parse(run.stdout) as { alerts: { code: string; hint: string }[] }).alerts;
    const alert = alerts.find((a) => a.code === 'REVERSE_SLOT_MISSING');
    expect(alert, JSON.stringify(alerts)).toBeDefined();
    const recover = /carve (recover --plan \S+ --service \S+ --yes)/.exec(alert!.hint)?.[1];
    expect(recover, alert!.hint).toBe(`recover --plan ${planFile} --service patient --yes`);
    expect(alert!.hint).toContain('then start carve sync');
    const recovered = await succeeds([...recover!.split(' '), '--secrets-dir', secretsDir]);
    expect(recovered.stdout).toContain('set up again');
    await startSync();
    await withClient(patientDb(), (c) =>
      c.query(`INSERT INTO documents (patient_id, body) VALUES (13, 'after the recover')`),
    );
    const documents = (url: string) =>
      withClient(url, async (c) => {
        const { rows } = await c.query(
          `SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', id, patient_id, body), ',' ORDER BY id)) AS h FROM documents`,
        );
        return rows[0] as { n: number; h: string };
      });
    await waitFor(
      async () => JSON.stringify(await documents(sourceUrl)) === JSON.stringify(await documents(patientDb())),
      { what: 'the monolith to hold the service documents' },
    );
    const both = await patientsBothSides();
    expect(both.service).toEqual(both.monolith);
    const monolithRows = await withClient(sourceUrl, async (c) =>
      (
        await c.query(
          `SELECT body FROM documents WHERE body IN ('while the slot was gone', 'after the recover') ORDER BY body`,
        )
      ).rows.map((r) => r.body as string),
    );
    expect(monolithRows).toEqual(['after the recover', 'while the slot was gone']);
    expect(await phaseOf('patient')).toBe('cut-over');
    await stopSync();
  }, 60_000);
});
