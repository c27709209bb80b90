import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalNats } from '../../src/cluster/local-nats.js';
import { Header } from '../../src/events/change-messages.js';
import { NATS_KEY_HEADER } from '../../src/events/nats-sink.js';
import { withClient } from '../../src/pg/connect.js';
import { formatLsn, parseLsn } from '../../src/pg/lsn.js';
import { slotInfo } from '../../src/pg/replication/slot.js';
import { waitFor } from '../support/cluster.js';
import { COUNTER_MONOLITH, COUNTER_PLAN, startCounterLoad } from '../support/counter-load.js';
import { prepareMigration, runCopy, useMigrationClusters, type Migration } from '../support/migration.js';
import { useNats } from '../support/nats.js';
import { readStream, type StreamEvent } from '../support/nats-stream.js';

/**
 * Change events on NATS JetStream, against a real nats-server (started by the test on a free
 * port): subjects and envelopes; kill -9 of `carve sync --sink events-only` under write load and a
 * kill -9 of the server while it publishes: every row state in the stream exactly once (by
 * account and counter, by commit LSN and position), the slot never acknowledged past the last
 * checkpoint; credentials in the server URL never printed.
 */

const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
const PUBLISHER_KILLS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let m: Migration;
let nats: LocalNats;
let planFile: string;
let snapshot: Map<number, number>;

function carve(args: string[]): {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin/carve.js'), ...args, '--plan', planFile, '--json', '--secrets-dir', m.secretsDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      if (line.trim()) events.push(JSON.parse(line));
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, events, stderr: () => stderr, exited };
}

async function lastCheckpointLsn(): Promise<bigint> {
  const nc = await connect({ servers: [nats.url] });
  try {
    const jsm = await jetstreamManager(nc);
    const last = await jsm.streams.getMessage('carve_nn', {
      last_by_subj: m.routing.events!.checkpointTopic,
    });
    return last ? parseLsn(last.json<{ lsn: string }>().lsn) : 0n;
  } finally {
    await nc.close();
  }
}

/** Every account state published exactly once and none missing, from the copy's snapshot to the monolith's counters. */
async function expectEveryStateOnce(events: StreamEvent[]): Promise<number> {
  const seen = new Map<number, number[]>();
  const positions = new Set<string>();
  for (const event of events) {
    const at = `${event.headers.get(Header.lsn)}/${event.headers.get(Header.seq)}`;
    expect(positions.has(at), `event ${at} twice`).toBe(false);
    positions.add(at);
    const row = JSON.parse(event.headers.get(Header.row)!) as string[];
    const list = seen.get(Number(row[0])) ?? [];
    list.push(Number(row[1]));
    seen.set(Number(row[0]), list);
  }
  const finalCounters = new Map(
    (await withClient(m.sourceUrl, (c) => c.query('SELECT id, counter FROM accounts'))).rows.map((r) => [
      r.id as number,
      r.counter as number,
    ]),
  );
  let states = 0;
  for (const [id, counter] of finalCounters) {
    const got = (seen.get(id) ?? []).sort((a, b) => a - b);
    const from = snapshot.get(id)!;
    expect(got, `account ${id}`).toEqual(Array.from({ length: counter - from }, (_, i) => from + 1 + i));
    states += got.length;
  }
  return states;
}

beforeAll(async () => {
  const [clusters, server] = await Promise.all([
    useMigrationClusters('events-nats'),
    useNats({ name: 'events-nats' }),
  ]);
  nats = server;
  // A token in the URL (the server runs without auth and ignores it): it must never be printed.
  const url = nats.url.replace('nats://', 'nats://s3cr3t-token@');
  m = await prepareMigration(clusters, {
    name: 'evnats',
    monolithSql: COUNTER_MONOLITH,
    planBody: `${COUNTER_PLAN}
events:
  nats: { servers: ["${url}"], subject_prefix: nn, stream: carve_nn, duplicate_window: 5m }
  schemas: false
`,
  });
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-events-nats-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
  await runCopy(m.routing);
  const ledger = m.routing.services.find((s) => s.name === 'ledger')!;
  // What the copy loaded: events-only never applies in process, so this is the snapshot.
  snapshot = new Map(
    (await withClient(ledger.url, (c) => c.query('SELECT id, counter FROM accounts'))).rows.map((r) => [
      r.id as number,
      r.counter as number,
    ]),
  );
});

describe('change events on NATS JetStream', () => {
  it('publishes Debezium envelopes on one subject per table with stable message ids', async () => {
    await withClient(m.sourceUrl, async (c) => {
      await c.query(`UPDATE accounts SET counter = counter + 1, note = 'x' WHERE id = 7`);
      await c.query(`INSERT INTO entries VALUES (900001, 7, 12.50, 'new')`);
      await c.query(`DELETE FROM entries WHERE id = 900001`);
    });
    const run = carve(['sync', '--sink', 'events-only', '--until-caught-up']);
    expect(await run.exited, run.stderr()).toBe(0);
    const output = JSON.stringify(run.events) + run.stderr();
    expect(output).not.toContain('s3cr3t-token');

    const accounts = await readStream(nats.url, 'carve_nn', 'nn.public.accounts');
    const update = accounts.find((e) => JSON.parse(e.headers.get(Header.row)!)[0] === '7')!;
    expect(update.value).toMatchObject({
      op: 'u',
      after: { id: 7, counter: snapshot.get(7)! + 1, owner: 'owner 7', note: 'x' },
      source: { connector: 'postgresql', name: 'nn', schema: 'public', table: 'accounts', snapshot: 'false' },
    });
    expect(JSON.parse(update.headers.get(NATS_KEY_HEADER)!)).toEqual({ id: 7 });
    const lsn = formatLsn(BigInt((update.value!.source as { lsn: number }).lsn));
    expect(update.headers.get(Header.lsn)).toBe(lsn);
    expect(update.msgId).toBe(`evnats:nats:${lsn}:1`);

    const entries = await readStream(nats.url, 'carve_nn', 'nn.public.entries');
    expect(entries.map((e) => e.value!.op)).toEqual(['c', 'd']);
    // No tombstone on NATS (it only serves Kafka's log compaction).
    expect(entries.every((e) => e.value !== null)).toBe(true);
    expect(entries[1]!.value).toMatchObject({ before: { id: 900001 }, after: null });

    // The checkpoint: the position of the last published transaction, on carve's own subject.
    expect(m.routing.events!.checkpointTopic).toBe('nn.carve-checkpoints.evnats');
    expect(await lastCheckpointLsn()).toBeGreaterThan(parseLsn(lsn));
    // The plan's duplicate window is the stream's.
    const nc = await connect({ servers: [nats.url] });
    const info = await (await jetstreamManager(nc)).streams.info('carve_nn');
    await nc.close();
    expect(info.config.duplicate_window).toBe(nanos(5 * 60_000));
    expect(info.config.subjects).toEqual(['nn.>']);
  }, 120_000);

  it(`publishes every change exactly once across ${PUBLISHER_KILLS} kill -9 of carve and a kill -9 of nats-server`, async () => {
    const load = startCounterLoad(m.sourceUrl, { largeEvery: 150 });
    try {
      for (let trial = 0; trial < PUBLISHER_KILLS; trial++) {
        const run = carve(['sync', '--sink', 'events-only']);
        await waitFor(() => run.events.some((e) => e.type === 'stream-started'), {
          onTimeout: () => run.stderr().slice(-2000),
          what: 'the publisher to stream',
          timeoutMs: 60_000,
        });
        await sleep(300 + Math.random() * 1500);
        run.child.kill('SIGKILL');
        await run.exited;
        const slot = await slotInfo(m.sourceUrl, m.routing.names.slot);
        // The slot never runs ahead of what JetStream acknowledged (before the first checkpoint
        // it stays where the copy left it).
        const checkpoint = await lastCheckpointLsn();
        if (slot.exists && slot.confirmedFlushLsn !== null && checkpoint > 0n)
          expect(slot.confirmedFlushLsn <= checkpoint).toBe(true);
      }
      // The server killed while carve publishes: carve reconnects and goes on.
      const run = carve(['sync', '--sink', 'events-only']);
      await waitFor(() => run.events.some((e) => e.type === 'stream-started'), {
        what: 'the publisher to stream',
        timeoutMs: 60_000,
      });
      await sleep(1000);
      await nats.stop('kill');
      await sleep(1500);
      await nats.start();
      const before = run.events.length;
      await waitFor(() => run.events.slice(before).some((e) => e.type === 'stream-started'), {
        onTimeout: () => run.stderr().slice(-2000),
        what: 'the publisher to stream again after the server restart',
        timeoutMs: 90_000,
      });
      await sleep(1000);
      run.child.kill('SIGKILL');
      await run.exited;
    } finally {
      await load.stop();
    }
    expect(load.committed).toBeGreaterThan(50);
    const final = carve(['sync', '--sink', 'events-only', '--until-caught-up']);
    expect(await final.exited, final.stderr()).toBe(0);

    const accounts = await readStream(nats.url, 'carve_nn', 'nn.public.accounts');
    const states = await expectEveryStateOnce(accounts);
    expect(states).toBeGreaterThan(1000);
    // Message ids are unique in the stream (JetStream dropped the replays).
    expect(new Set(accounts.map((e) => e.msgId)).size).toBe(accounts.length);
    // Stream order is source order: commit LSNs never go back.
    let previous = 0n;
    for (const e of accounts) {
      const lsn = parseLsn(e.headers.get(Header.lsn)!);
      expect(lsn >= previous).toBe(true);
      previous = lsn;
    }
    const entries = (await readStream(nats.url, 'carve_nn', 'nn.public.entries')).filter(
      (e) => e.headers.get(Header.kind) === 'upsert',
    );
    const ids = entries.map((e) => (JSON.parse(e.headers.get(Header.row)!) as string[])[0]);
    expect(new Set(ids).size).toBe(ids.length);
  }, 400_000);

  it('refuses a stream that does not capture the subjects, with a hint that works', async () => {
    const nc = await connect({ servers: [nats.url] });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'someone_else', subjects: ['elsewhere.>'] });
    } finally {
      await nc.close();
    }
    const file = join(mkdtempSync(join(tmpdir(), 'carve-events-nats-stream-')), 'plan.yaml');
    writeFileSync(file, m.planText.replace('stream: carve_nn', 'stream: someone_else'));
    const run = (plan: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            join(repoRoot, 'bin/carve.js'),
            'sync',
            '--sink',
            'events-only',
            '--until-caught-up',
            '--json',
            '--plan',
            plan,
            '--secrets-dir',
            m.secretsDir,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => resolve({ code, out }));
      });
    const refused = await run(file);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('EVENTS_NATS_STREAM');
    expect(refused.out).toContain('Name a stream for carve alone in events.nats.stream');
    expect(refused.out).not.toContain('s3cr3t-token');
    // Following the hint: a stream for carve alone (the plan's own, which carve created).
    const followed = await run(planFile);
    expect(followed.code, followed.out.slice(-2000)).toBe(0);
  }, 120_000);
});
