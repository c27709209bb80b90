import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalKafka } from '../../src/cluster/local-kafka.js';
import { Header } from '../../src/events/change-messages.js';
import { decodeCheckpoint } from '../../src/events/checkpoint.js';
import { KafkaLog } from '../../src/events/kafka-log.js';
import { withClient } from '../../src/pg/connect.js';
import { slotInfo } from '../../src/pg/replication/slot.js';
import { runCarve } from '../support/carve-cli.js';
import { waitFor } from '../support/cluster.js';
import {
  applyLogSql,
  COUNTER_MONOLITH,
  COUNTER_PLAN,
  doubleApplied,
  startCounterLoad,
} from '../support/counter-load.js';
import { useKafka } from '../support/kafka.js';
import { readTopic } from '../support/kafka-topics.js';
import {
  mismatchedRoutes,
  prepareMigration,
  runCopy,
  useMigrationClusters,
  type Migration,
} from '../support/migration.js';

/**
 * kill -9 of the publisher (`carve sync --sink kafka-only`) and of the appliers (`carve apply`, two
 * services, two processes) under write load: every row state reaches the topic exactly once
 * (counted by account and counter, and by commit LSN and position), the slot is never
 * acknowledged beyond the last committed checkpoint, and both service databases converge to
 * verify-clean with nothing applied twice.
 */

const repoRoot = join(new URL('.', import.meta.url).pathname, '..', '..');
const PUBLISHER_KILLS = 5;
const APPLY_KILLS = 6;

let m: Migration;
let kafka: LocalKafka;
let planFile: string;

function carve(args: string[]): {
  child: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin/carve.js'), ...args, '--plan', planFile, '--json', '--secrets-dir', m.secretsDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
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
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (code !== null && code !== 0) process.stderr.write(`carve ${args[0]} exited ${code}: ${stderr}\n`);
      resolve(code);
    }),
  );
  return { child, events, exited };
}

async function lastCheckpointLsn(): Promise<bigint> {
  const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'test' });
  try {
    const last = await log.lastCommitted(m.routing.events!.checkpointTopic, 0, 'kafka');
    return last?.value ? decodeCheckpoint(last.value).lsn : 0n;
  } finally {
    await log.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const [clusters, broker] = await Promise.all([
    useMigrationClusters('events-kill'),
    useKafka({ name: 'events-kill' }),
  ]);
  kafka = broker;
  m = await prepareMigration(clusters, {
    name: 'evkill',
    monolithSql: COUNTER_MONOLITH,
    planBody: `${COUNTER_PLAN}
events:
  kafka: { brokers: ["${broker.bootstrap}"], topic_prefix: kk }
  schemas: false
`,
  });
  planFile = join(mkdtempSync(join(tmpdir(), 'carve-events-kill-')), 'plan.yaml');
  writeFileSync(planFile, m.planText);
  for (const service of m.routing.services) {
    const tables = service.tables.filter(
      (t) => t.target.name === 'accounts' || t.target.name === 'account_owners',
    );
    await withClient(service.adminUrl, async (c) => {
      for (const t of tables) await c.query(applyLogSql(`public.${t.target.name}`));
    });
  }
});

describe('events under kill -9', () => {
  it(`publish and apply exactly once (${PUBLISHER_KILLS} publisher kills, ${APPLY_KILLS} apply kills)`, async () => {
    const ledger = m.routing.services.find((s) => s.name === 'ledger')!;
    const load = startCounterLoad(m.sourceUrl, { largeEvery: 150 });
    let snapshot: Map<number, number>;
    let publisher: ReturnType<typeof carve> | undefined;
    try {
      await runCopy(m.routing);
      // What the copy loaded: kafka-only never applies in process, so this is the snapshot.
      snapshot = new Map(
        (await withClient(ledger.url, (c) => c.query('SELECT id, counter FROM accounts'))).rows.map((r) => [
          r.id as number,
          r.counter as number,
        ]),
      );

      for (let trial = 0; trial < PUBLISHER_KILLS; trial++) {
        const run = carve(['sync', '--sink', 'kafka-only']);
        if (trial % 2 === 0) {
          const published = (e: Record<string, unknown>) =>
            e.type === 'lag' && (e.targets as { totalChanges: number }[]).some((t) => t.totalChanges > 0);
          await waitFor(() => run.events.some(published), {
            onTimeout: () => JSON.stringify(run.events.slice(-5)),
            what: 'a published batch',
            timeoutMs: 60_000,
          });
        }
        await sleep(200 + Math.random() * 1500);
        run.child.kill('SIGKILL');
        await run.exited;
        const slot = await slotInfo(m.sourceUrl, m.routing.names.slot);
        // The slot never runs ahead of what Kafka holds committed.
        if (slot.exists && slot.confirmedFlushLsn !== null)
          expect(slot.confirmedFlushLsn <= (await lastCheckpointLsn())).toBe(true);
      }

      // The publisher keeps running while both services' appliers are killed and restarted.
      publisher = carve(['sync', '--sink', 'kafka-only']);
      const appliers = new Map(
        ['ledger', 'reporting'].map((s) => [s, carve(['apply', '--from', 'kafka', '--service', s])]),
      );
      for (let trial = 0; trial < APPLY_KILLS; trial++) {
        const service = trial % 2 === 0 ? 'ledger' : 'reporting';
        const run = appliers.get(service)!;
        await waitFor(() => run.events.some((e) => e.type === 'session-started'), {
          what: `${service} apply to start`,
          timeoutMs: 60_000,
        });
        await sleep(300 + Math.random() * 1500);
        run.child.kill('SIGKILL');
        await run.exited;
        appliers.set(service, carve(['apply', '--from', 'kafka', '--service', service]));
      }
      for (const run of appliers.values()) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
    } finally {
      await load.stop();
    }
    expect(load.committed).toBeGreaterThan(100);
    publisher!.child.kill('SIGKILL');
    await publisher!.exited;

    const final = carve(['sync', '--sink', 'kafka-only', '--until-caught-up']);
    expect(await final.exited).toBe(0);
    const [ledgerRun, reportingRun] = [
      carve(['apply', '--from', 'kafka', '--service', 'ledger', '--until-caught-up']),
      carve(['apply', '--from', 'kafka', '--service', 'reporting', '--until-caught-up']),
    ];
    expect(await ledgerRun.exited).toBe(0);
    expect(await reportingRun.exited).toBe(0);

    // Kafka: every account state exactly once, none missing (counters contiguous up to the final).
    const accounts = (await readTopic([kafka.bootstrap], 'kk.public.accounts')).filter(
      (e) => e.value !== null,
    );
    const seen = new Map<number, number[]>();
    const positions = new Set<string>();
    for (const event of accounts) {
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
      const expected = Array.from(
        { length: counter - snapshot!.get(id)! },
        (_, i) => snapshot!.get(id)! + 1 + i,
      );
      expect(got, `account ${id}`).toEqual(expected);
      states += got.length;
    }
    expect(states).toBeGreaterThan(100);
    const entries = (await readTopic([kafka.bootstrap], 'kk.public.entries')).filter(
      (e) => e.headers.get(Header.kind) === 'upsert',
    );
    const ids = entries.map((e) => (JSON.parse(e.headers.get(Header.row)!) as string[])[0]);
    expect(new Set(ids).size).toBe(ids.length);

    // The service databases: equal to the monolith, nothing applied twice.
    expect(await mismatchedRoutes(m.routing)).toEqual([]);
    for (const service of m.routing.services) expect(await doubleApplied(service.adminUrl)).toEqual([]);

    // carve verify and carve status work the same when the rows arrive through Kafka: verify holds
    // the appliers of carve apply (holds table) while the monolith keeps writing.
    const more = startCounterLoad(m.sourceUrl, { pauseMs: 20 });
    const running = [
      carve(['sync', '--sink', 'kafka-only']),
      carve(['apply', '--from', 'kafka', '--service', 'ledger']),
      carve(['apply', '--from', 'kafka', '--service', 'reporting']),
    ];
    try {
      for (const run of running.slice(1))
        await waitFor(() => run.events.some((e) => e.type === 'session-started'), {
          what: 'apply',
          timeoutMs: 60_000,
        });
      const verify = await runCarve(['verify', '--plan', planFile, '--secrets-dir', m.secretsDir]);
      expect(verify.code, verify.stderr + verify.stdout).toBe(0);
      const status = await runCarve(['status', '--plan', planFile, '--json', '--secrets-dir', m.secretsDir]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('ledger_db');
    } finally {
      await more.stop();
      for (const run of running) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
    }
  }, 400_000);
});
