/**
 * Change events to Kafka: carve's exactly-once publisher against the slot's raw decode rate and
 * against kcat producing the same number of pre-serialised messages of the same size (the
 * broker's limit here); carve apply through Kafka against the in-process applier on the same
 * backlog; end-to-end latency at a steady rate. Optionally Debezium on the same backlog.
 *
 *   npm run build && npm run bench:events
 *
 * Env: CHANGES (default 200000), MIX (mixed | oltp | batch, see bench/sync-workload.ts), ROUNDS
 * (default 2), SCHEMAS (0/1: JsonConverter schemas in every event, default 0), STEADY_SECONDS
 * (default 30) and STEADY_RATE (default 1000 changes/s), DEBEZIUM=1 (Debezium's PostgreSQL connector
 * through ../shared/tools/debezium.sh on the same backlog, Kafka only; DBZ_HEAP defaults to this Node's
 * heap limit; DBZ_EXTRA / DBZ_WORKER_EXTRA pass through),
 * KAFKA_HEAP_MB (default 1024), LATENCY_ONLY=1 (only the steady run), PUBLISH_ONLY=1 (raw decode,
 * carve publish and kcat only: no apply, in-process sync or steady run), NATS=1 (plan A publishes to NATS JetStream, a nats-server
 * started by the bench, instead of Kafka; with PUBLISH_ONLY=1), CPU_PROF=<dir> (the publishing
 * carve runs under node --cpu-prof into that directory). Needs kcat (apt-get install kcat) and pg_recvlogical.
 *
 * Per round: reseed the monolith; two migrations of the same tables (A: events on Kafka, applied
 * by `carve apply`; B: applied in process), both copied, both slots (and a raw pgoutput slot)
 * created before the backlog is written; then, timed as whole subprocesses under /usr/bin/time:
 * pg_recvlogical decoding the backlog to a file; `carve sync --sink kafka-only --until-caught-up`
 * (A); `carve apply --from kafka --until-caught-up` (A); `carve sync --until-caught-up` (B); kcat
 * producing as many messages of the published average size. Both databases are checked equal to
 * the monolith. DEBEZIUM=1: Debezium is started once before the backlog (snapshot.mode=no_data, its
 * own slot and publication, payload only unless SCHEMAS=1) and stopped; after kcat it is started again
 * and timed from its start until its table topics hold as many messages as carve published, per
 * topic (tombstones included); its CPU and RSS are read from /proc of the worker's PID.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Admin } from '@platformatic/kafka';
import { startCluster, type LocalCluster } from '../src/cluster/local-cluster.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { startKafka, type LocalKafka } from '../src/cluster/local-kafka.js';
import { startNats } from '../src/cluster/local-nats.js';
import { introspect } from '../src/catalog/introspect.js';
import { buildIndexesWithProvision } from '../src/cli/copy.js';
import { copy } from '../src/copy/index.js';
import { Header } from '../src/events/change-messages.js';
import { KafkaLog } from '../src/events/kafka-log.js';
import { withClient } from '../src/pg/connect.js';
import { parsePlan } from '../src/plan/load.js';
import { provision } from '../src/provision/index.js';
import { buildRouting } from '../src/routing/build-routing.js';
import type { Routing } from '../src/routing/model.js';
import { BACKLOG_SQL, backlogShape, seed, steadyTransaction, TABLES, TABLES_SQL } from './sync-workload.js';

const here = new URL('.', import.meta.url).pathname;
const repoRoot = join(here, '..');
const outDir = join(here, 'out');
const CHANGES = Number(process.env.CHANGES ?? 200_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const MIX = (process.env.MIX ?? 'mixed') as 'mixed' | 'oltp' | 'batch';
const SCHEMAS = process.env.SCHEMAS === '1';
const STEADY_SECONDS = Number(process.env.STEADY_SECONDS ?? 30);
const STEADY_RATE = Number(process.env.STEADY_RATE ?? 1000);
const SETTINGS = {
  shared_buffers: '256MB',
  synchronous_commit: 'on',
  max_wal_size: '4GB',
  wal_level: 'logical',
};
const log = (line: string) => console.log(line);

interface Timed {
  seconds: number;
  rssKb: number;
  cpuSeconds: number;
  stdout: string;
}

/** A whole subprocess under /usr/bin/time -v: wall time, peak RSS, CPU. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-v', command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-3000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  return {
    seconds,
    rssKb: rss ? Number(rss[1]) : 0,
    cpuSeconds: Number(user?.[1] ?? 0) + Number(system?.[1] ?? 0),
    stdout,
  };
}

const carve = (args: string[], nodeFlags: string[] = []) =>
  timed(process.execPath, [...nodeFlags, join(repoRoot, 'bin/carve.js'), ...args]);
const PUBLISH_ONLY = process.env.PUBLISH_ONLY === '1';
const CPU_PROF = process.env.CPU_PROF;

interface Setup {
  monolith: string;
  source: LocalCluster;
  target: LocalCluster;
  kafka: LocalKafka;
  plans: { kafka: string; inProcess: string };
  routings: { kafka: Routing; inProcess: Routing };
}

function planText(
  name: string,
  monolith: string,
  target: LocalCluster,
  kafka: LocalKafka | null,
  prefix: string,
): string {
  const broker = natsServer
    ? `nats: { servers: ["${natsServer.url}"], subject_prefix: ${prefix} }`
    : `kafka: { brokers: ["${kafka?.bootstrap}"], topic_prefix: ${prefix} }`;
  const events = kafka ? `events:\n  ${broker}\n  schemas: ${SCHEMAS}\n` : '';
  return `name: ${name}\nsource: ${monolith}\ntarget: ${target.url()}\nservices:\n  care:\n    database: ${name}_db\n    tables: { ${TABLES.map((t) => `${t}: {}`).join(', ')} }\nexclude: [bench_count]\n${events}`;
}

async function prepare(
  source: LocalCluster,
  target: LocalCluster,
  kafka: LocalKafka,
  round: number,
): Promise<Setup> {
  const monolith = source.url('monolith');
  await withClient(source.url(), async (c) => {
    for (const slot of (await c.query(`SELECT slot_name FROM pg_replication_slots`)).rows)
      await c.query('SELECT pg_drop_replication_slot($1)', [slot.slot_name]);
    await c.query('DROP DATABASE IF EXISTS monolith');
    await c.query('CREATE DATABASE monolith');
  });
  await withClient(target.url(), async (c) => {
    for (const db of ['evk_db', 'evp_db']) await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  });
  await withClient(monolith, async (c) => {
    await c.query(TABLES_SQL);
    await c.query(BACKLOG_SQL);
    await seed(c);
  });
  const catalog = await withClient(monolith, (c) => introspect(c));
  const texts = {
    kafka: planText('evk', monolith, target, kafka, `bench${round}`),
    inProcess: planText('evp', monolith, target, null, ''),
  };
  mkdirSync(outDir, { recursive: true });
  const plans = {
    kafka: join(outDir, 'events-kafka.yaml'),
    inProcess: join(outDir, 'events-inprocess.yaml'),
  };
  writeFileSync(plans.kafka, texts.kafka);
  writeFileSync(plans.inProcess, texts.inProcess);
  const routings = {
    kafka: buildRouting(parsePlan(texts.kafka, { env: {} }), catalog),
    inProcess: buildRouting(parsePlan(texts.inProcess, { env: {} }), catalog),
  };
  for (const routing of [routings.kafka, routings.inProcess]) {
    await provision(catalog, routing, { secretsDir: join(outDir, 'secrets') });
    const result = await copy({ routing, jobs: 2, buildIndexes: buildIndexesWithProvision });
    if (!result.complete) throw new Error('copy incomplete');
  }
  return { monolith, source, target, kafka, plans, routings };
}

async function writeBacklog(monolith: string): Promise<number> {
  const shape = backlogShape(CHANGES, MIX);
  return withClient(monolith, async (c) => {
    await c.query('TRUNCATE bench_count');
    await c.query('CALL backlog($1, $2, $3, $4)', [
      shape.small,
      shape.mediumEvery,
      shape.largeEvery,
      shape.withSmall,
    ]);
    return Number((await c.query('SELECT changes FROM bench_count')).rows[0].changes);
  });
}

/** Topic totals: messages (tombstones included) and their bytes, committed ones only. */
async function topicTotals(
  kafka: LocalKafka,
  prefix: string,
): Promise<{ messages: number; bytes: number; events: number; perTopic: Map<string, number> }> {
  const log = new KafkaLog({ brokers: [kafka.bootstrap], clientId: 'bench' });
  let messages = 0;
  let bytes = 0;
  let events = 0;
  const perTopic = new Map<string, number>();
  try {
    for (const table of TABLES) {
      const topic = `${prefix}.public.${table}`;
      const before = messages;
      const end = await log.endOffset(topic, 0);
      for (let from = 0n; from < end;) {
        const records = await log.read(topic, 0, from, 4 * 1024 * 1024);
        if (records.length === 0) break;
        for (const r of records) {
          if (!r.marker) {
            messages++;
            bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0);
            if (r.value) events++;
          }
        }
        from = records.at(-1)!.offset + 1n;
      }
      perTopic.set(table, messages - before);
    }
  } finally {
    await log.close();
  }
  return { messages, bytes, events, perTopic };
}

/** NATS=1: what the stream holds (events, no tombstones on NATS; carve's checkpoints included). */
async function streamTotals(
  server: string,
  stream: string,
): Promise<{ messages: number; bytes: number; events: number; perTopic: Map<string, number> }> {
  const nc = await connectNats({ servers: [server] });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    return {
      messages: info.state.messages,
      bytes: info.state.bytes,
      events: info.state.messages,
      perTopic: new Map<string, number>(),
    };
  } finally {
    await nc.close();
  }
}

async function rawDecode(s: Setup, endLsn: string): Promise<Timed> {
  const bin = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
  const file = join(outDir, 'events-raw.bin');
  return timed(join(bin, 'pg_recvlogical'), [
    '-d',
    s.monolith,
    '-S',
    'bench_raw',
    '--start',
    '-f',
    file,
    '-E',
    endLsn,
    '--no-loop',
    '-o',
    'proto_version=1',
    '-o',
    `publication_names=${s.routings.kafka.names.publication}`,
  ]);
}

async function kcatRun(s: Setup, count: number, avgBytes: number, round: number): Promise<Timed> {
  const topic = `kcat${round}`;
  const admin = new KafkaLog({ brokers: [s.kafka.bootstrap], clientId: 'bench' });
  await admin.ensureTopics([{ topic, partitions: 1, replicationFactor: 1 }]);
  await admin.close();
  const file = join(outDir, 'events-kcat.txt');
  const line = 'x'.repeat(Math.max(1, Math.round(avgBytes) - 1));
  writeFileSync(file, `${line}\n`.repeat(count));
  // Same guarantees asked of the broker as carve's producer: acks from all replicas, idempotence.
  return timed('kcat', [
    '-P',
    '-b',
    s.kafka.bootstrap,
    '-t',
    topic,
    '-l',
    '-X',
    'acks=all',
    '-X',
    'enable.idempotence=true',
    file,
  ]);
}

// DEBEZIUM=1: the real Debezium PostgreSQL connector (../shared/tools/debezium.sh) on the same backlog.
const DEBEZIUM = process.env.DEBEZIUM === '1';
const debeziumTool =
  process.env.DEBEZIUM_SH ??
  [join(repoRoot, '..', 'shared'), join(repoRoot, '..', '..', 'shared')]
    .map((dir) => join(dir, 'tools', 'debezium.sh'))
    .find((path) => existsSync(path)) ??
  'debezium.sh';
// Same heap limit as carve's Node process gets by default here (V8's heap_size_limit), unless DBZ_HEAP
// says otherwise; -Xms256m as connect-standalone.sh.
const NODE_HEAP_MB = Math.round(getHeapStatistics().heap_size_limit / 1048576);
const DBZ_HEAP = process.env.DBZ_HEAP ?? `-Xms256m -Xmx${NODE_HEAP_MB}m`;
const CLK_TCK = 100;

function debeziumSh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      [debeziumTool, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`debezium.sh ${args[0]}: ${stderr.slice(-3000)}`)) : resolve(stdout.trim()),
    ),
  );
}

/** user + system CPU seconds of a process (all its threads) and its current and peak RSS. */
function procUsage(pid: number): { cpuSeconds: number; rssMb: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, utime 14, stime 15.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

interface DebeziumSetup {
  prefix: string;
  env: NodeJS.ProcessEnv;
  url: string;
  tables: string;
}

/**
 * Before the backlog: start Debezium once with snapshot.mode=no_data (creates its slot and a
 * filtered publication on the bench tables, reads no rows) and stop it gracefully, so that its
 * offsets are stored and the timed start resumes from its slot, before the backlog. Its work dir is
 * new on every start, so the offsets file is pinned to one path; a heartbeat during this first start
 * is what makes Connect store an offset at all (no records are produced without data).
 */
async function debeziumPrime(s: Setup, round: number): Promise<DebeziumSetup> {
  const prefix = `dbz${round}`;
  const offsets = join(outDir, `debezium-offsets-${round}.dat`);
  rmSync(offsets, { force: true });
  const env = {
    DBZ_SCHEMAS: SCHEMAS ? 'true' : 'false',
    DBZ_HEAP,
    DBZ_SNAPSHOT_MODE: 'no_data',
    DBZ_PLUGIN_DISCOVERY: 'service_load',
    DBZ_WORKER_EXTRA: `offset.storage.file.filename=${offsets}\n${process.env.DBZ_WORKER_EXTRA ?? ''}`,
  };
  const setup = { prefix, env, url: s.monolith, tables: TABLES.map((t) => `public.${t}`).join(',') };
  const pid = await debeziumSh(['start', setup.url, s.kafka.bootstrap, prefix, setup.tables], {
    ...env,
    DBZ_EXTRA: `heartbeat.interval.ms=500\n${process.env.DBZ_EXTRA ?? ''}`,
  });
  await new Promise((r) => setTimeout(r, 3000));
  await debeziumSh(['stop', pid]);
  if (!existsSync(offsets) || statSync(offsets).size === 0)
    throw new Error(`Debezium stored no offsets in ${offsets}: the timed start would skip the backlog`);
  return setup;
}

interface DebeziumRun {
  seconds: number;
  startSeconds: number;
  cpuSeconds: number;
  startCpuSeconds: number;
  rssMb: number;
  peakRssMb: number;
  messages: number;
}

/** Messages (tombstones included) on Debezium's table topics; it writes no transactions. */
async function debeziumCounts(admin: Admin, log: KafkaLog, prefix: string): Promise<Map<string, number>> {
  const present = new Set(await admin.listTopics());
  const counts = new Map<string, number>();
  for (const table of TABLES) {
    const topic = `${prefix}.public.${table}`;
    counts.set(table, present.has(topic) ? Number(await log.endOffset(topic, 0)) : 0);
  }
  return counts;
}

/** The timed start: from `debezium.sh start` until its topics hold what carve published, per table. */
async function debeziumRun(s: Setup, d: DebeziumSetup, expected: Map<string, number>): Promise<DebeziumRun> {
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  const admin = new Admin({ clientId: 'bench-dbz', bootstrapBrokers: [s.kafka.bootstrap] });
  const kafkaLog = new KafkaLog({ brokers: [s.kafka.bootstrap], clientId: 'bench-dbz' });
  const t0 = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const pid = Number(await debeziumSh(['start', d.url, s.kafka.bootstrap, d.prefix, d.tables], d.env));
  const startSeconds = elapsed();
  const atStart = procUsage(pid);
  try {
    const deadline = Date.now() + Math.max(600_000, total * 5);
    for (;;) {
      const counts = await debeziumCounts(admin, kafkaLog, d.prefix);
      const messages = [...counts.values()].reduce((a, b) => a + b, 0);
      if (TABLES.every((t) => (counts.get(t) ?? 0) >= (expected.get(t) ?? 0))) {
        const seconds = elapsed();
        const usage = procUsage(pid);
        return {
          seconds,
          startSeconds,
          cpuSeconds: usage.cpuSeconds,
          startCpuSeconds: atStart.cpuSeconds,
          rssMb: usage.rssMb,
          peakRssMb: usage.peakRssMb,
          messages,
        };
      }
      if (Date.now() > deadline)
        throw new Error(`Debezium: ${messages} of ${total} messages after ${elapsed().toFixed(0)} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await debeziumSh(['stop', String(pid)]);
    // At-least-once: after a clean run and a graceful stop the topics should hold exactly carve's count.
    const after = await debeziumCounts(admin, kafkaLog, d.prefix);
    for (const t of TABLES)
      if ((after.get(t) ?? 0) !== (expected.get(t) ?? 0))
        log(`  Debezium ${t}: ${after.get(t)} messages, carve ${expected.get(t)}`);
    await admin.close();
    await kafkaLog.close();
  }
}

async function steadyLatency(s: Setup): Promise<{ p50: number; p99: number; events: number }> {
  const publisher = spawn(
    process.execPath,
    [join(repoRoot, 'bin/carve.js'), 'sync', '--plan', s.plans.kafka, '--sink', 'kafka-only', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Measure from the moment it streams (start-up is not steady state).
  await new Promise<void>((resolve) => {
    let out = '';
    publisher.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"stream-started"')) resolve();
    });
  });
  publisher.stdout!.resume();
  const log = new KafkaLog({ brokers: [s.kafka.bootstrap], clientId: 'bench-latency' });
  const prefix = s.routings.kafka.events!.prefix;
  const topic = `${prefix}.public.patients`;
  let from = await log.endOffset(topic, 0);
  const latencies: number[] = [];
  const pending: number[] = [];
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      const records = await log.read(topic, 0, from, 1024 * 1024, 100);
      for (const r of records) {
        from = r.offset + 1n;
        // Visible to a read_committed consumer once its transaction's commit marker is written:
        // measured when the marker is read.
        if (r.marker === 'commit') {
          const now = Date.now();
          for (const ts of pending) latencies.push(now - ts);
          pending.length = 0;
        } else if (r.marker === 'abort') pending.length = 0;
        else {
          const ts = r.headers.get(Header.commitTime);
          if (ts) pending.push(Number(BigInt(ts) / 1000n));
        }
      }
    }
  })();
  const perTxn = 4;
  const txnsPerSecond = STEADY_RATE / perTxn;
  await withClient(s.monolith, async (c) => {
    const started = Date.now();
    let i = 0;
    const nextId = 50_000_000;
    while (Date.now() - started < STEADY_SECONDS * 1000) {
      await c.query(steadyTransaction(i, nextId + i));
      i++;
      const due = started + (i / txnsPerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  });
  await new Promise((r) => setTimeout(r, 3000));
  stop = true;
  await reader;
  await log.close();
  publisher.kill('SIGTERM');
  await new Promise((r) => publisher.once('exit', r));
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), events: sorted.length };
}

async function checkEqual(monolith: string, target: LocalCluster, db: string): Promise<void> {
  for (const table of TABLES) {
    const sql = `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '') AS h FROM ${table} t`;
    const [a, b] = await Promise.all([
      withClient(monolith, async (c) => (await c.query(sql)).rows[0].h),
      withClient(target.url(db), async (c) => (await c.query(sql)).rows[0].h),
    ]);
    if (a !== b) throw new Error(`${db}.${table} differs from the monolith`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const source = await startCluster({ name: 'bench-ev-src', settings: SETTINGS });
const target = await startCluster({ name: 'bench-ev-dst', settings: SETTINGS });
// NATS=1: plan A publishes to NATS JetStream (a nats-server started here) instead of Kafka.
const natsServer = process.env.NATS === '1' ? await startNats({ name: 'bench' }) : null;
const kafka = await startKafka({
  name: 'bench',
  heapMb: Number(process.env.KAFKA_HEAP_MB ?? 1024),
  jvmFlags: [],
});
const rows: Record<string, number>[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const s = await prepare(source, target, kafka, round);
    await withClient(s.monolith, (c) =>
      c.query(`SELECT pg_create_logical_replication_slot('bench_raw', 'pgoutput')`),
    );
    if (process.env.LATENCY_ONLY === '1') {
      const latency = await steadyLatency(s);
      log(
        `  latency at ${STEADY_RATE} changes/s, source commit → event visible (read_committed): p50 ${latency.p50} ms, p99 ${latency.p99} ms (${latency.events} events)`,
      );
      break;
    }
    const dbz = DEBEZIUM && !natsServer ? await debeziumPrime(s, round) : null;
    const changes = await writeBacklog(s.monolith);
    const endLsn = await withClient(
      s.monolith,
      async (c) => (await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string,
    );
    log(`round ${round}: backlog of ${changes} changes (${MIX})`);
    const raw = await rawDecode(s, endLsn);
    log(
      `  raw decode (pg_recvlogical): ${raw.seconds.toFixed(1)} s, ${Math.round(changes / raw.seconds)} changes/s`,
    );
    const publish = await carve(
      [
        'sync',
        '--plan',
        s.plans.kafka,
        '--sink',
        natsServer ? 'events-only' : 'kafka-only',
        '--until-caught-up',
      ],
      CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : [],
    );
    const totals = natsServer
      ? await streamTotals(natsServer.url, s.routings.kafka.events!.nats!.stream)
      : await topicTotals(kafka, s.routings.kafka.events!.prefix);
    log(
      `  carve publish (exactly-once): ${publish.seconds.toFixed(1)} s, ${Math.round(changes / publish.seconds)} changes/s, ${totals.messages} messages (${totals.events} events), ${(totals.bytes / 1e6).toFixed(0)} MB, RSS ${Math.round(publish.rssKb / 1024)} MB, CPU ${publish.cpuSeconds.toFixed(1)} s (${((publish.cpuSeconds / changes) * 1e6).toFixed(1)} µs per change)`,
    );
    const kc = await kcatRun(s, totals.messages, totals.bytes / totals.messages, round);
    log(
      `  kcat -P same count and size: ${kc.seconds.toFixed(1)} s, ${Math.round(totals.messages / kc.seconds)} messages/s`,
    );
    const debezium: Record<string, number> = {};
    if (dbz) {
      const d = await debeziumRun(s, dbz, totals.perTopic);
      Object.assign(debezium, {
        dbzSeconds: d.seconds,
        dbzCpuSeconds: d.cpuSeconds,
        dbzStartCpuSeconds: d.startCpuSeconds,
        dbzPeakRssMb: d.peakRssMb,
      });
      const rate = changes / d.seconds;
      log(
        `  Debezium (${DBZ_HEAP}, schemas ${SCHEMAS ? 'on' : 'off'}, at-least-once): ${d.seconds.toFixed(1)} s from start (streaming after ${d.startSeconds.toFixed(1)} s), ${Math.round(rate)} changes/s, ${d.messages} messages, CPU ${d.cpuSeconds.toFixed(1)} s (${d.startCpuSeconds.toFixed(1)} s of it to streaming; ${((d.cpuSeconds / changes) * 1e6).toFixed(1)} µs per change), RSS ${Math.round(d.rssMb)} MB (peak ${Math.round(d.peakRssMb)} MB); carve/Debezium: ${(d.seconds / publish.seconds).toFixed(2)}x rate, Debezium/carve CPU ${(d.cpuSeconds / publish.cpuSeconds).toFixed(2)}x`,
      );
    }
    log(
      `  load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    if (PUBLISH_ONLY) {
      rows.push({
        round,
        changes,
        rawSeconds: raw.seconds,
        publishSeconds: publish.seconds,
        publishCpuSeconds: publish.cpuSeconds,
        publishRssMb: publish.rssKb / 1024,
        messages: totals.messages,
        kcatSeconds: kc.seconds,
        load1: loadavg()[0]!,
        ...debezium,
      });
      continue;
    }
    const apply = await carve([
      'apply',
      '--plan',
      s.plans.kafka,
      '--from',
      'kafka',
      '--service',
      'care',
      '--until-caught-up',
    ]);
    log(
      `  carve apply (through Kafka): ${apply.seconds.toFixed(1)} s, ${Math.round(changes / apply.seconds)} changes/s, RSS ${Math.round(apply.rssKb / 1024)} MB`,
    );
    const inProcess = await carve(['sync', '--plan', s.plans.inProcess, '--until-caught-up']);
    log(
      `  carve sync in process: ${inProcess.seconds.toFixed(1)} s, ${Math.round(changes / inProcess.seconds)} changes/s`,
    );
    await checkEqual(s.monolith, target, 'evk_db');
    await checkEqual(s.monolith, target, 'evp_db');
    rows.push({
      round,
      changes,
      rawSeconds: raw.seconds,
      publishSeconds: publish.seconds,
      publishRssMb: publish.rssKb / 1024,
      publishCpuSeconds: publish.cpuSeconds,
      messages: totals.messages,
      bytes: totals.bytes,
      kcatSeconds: kc.seconds,
      applySeconds: apply.seconds,
      inProcessSeconds: inProcess.seconds,
      load1: loadavg()[0]!,
      ...debezium,
    });
    if (round === ROUNDS) {
      const latency = await steadyLatency(s);
      log(
        `  latency at ${STEADY_RATE} changes/s, source commit → event visible (read_committed): p50 ${latency.p50} ms, p99 ${latency.p99} ms (${latency.events} events)`,
      );
      rows.push({ latencyP50: latency.p50, latencyP99: latency.p99, latencyEvents: latency.events });
    }
  }
  const runs = rows.filter((r) => r.changes);
  const m = (k: string) => median(runs.map((r) => r[k]!));
  if (runs.length > 0 && PUBLISH_ONLY) {
    log(
      `\nmedians over ${runs.length} rounds: raw decode ${Math.round(m('changes') / m('rawSeconds'))} changes/s; carve publish ${Math.round(m('changes') / m('publishSeconds'))} changes/s, ${((m('publishCpuSeconds') / m('changes')) * 1e6).toFixed(1)} CPU µs per change; kcat ${Math.round(m('messages') / m('kcatSeconds'))} messages/s; publish/kcat ${median(runs.map((r) => r.kcatSeconds! / r.publishSeconds!)).toFixed(2)}x`,
    );
  } else if (runs.length > 0) {
    log(`\nmedians over ${runs.length} rounds (${MIX}, schemas ${SCHEMAS ? 'on' : 'off'}):`);
    log(
      `  raw decode ${Math.round(m('changes') / m('rawSeconds'))} changes/s; carve publish ${Math.round(m('changes') / m('publishSeconds'))} changes/s (${Math.round(m('messages') / m('publishSeconds'))} messages/s); kcat ${Math.round(m('messages') / m('kcatSeconds'))} messages/s`,
    );
    log(
      `  publish/raw ${median(runs.map((r) => r.rawSeconds! / r.publishSeconds!)).toFixed(2)}x; publish/kcat ${median(runs.map((r) => r.kcatSeconds! / r.publishSeconds!)).toFixed(2)}x`,
    );
    log(`  publish CPU ${((m('publishCpuSeconds') / m('changes')) * 1e6).toFixed(1)} µs per change`);
    log(
      `  apply through Kafka ${Math.round(m('changes') / m('applySeconds'))} changes/s vs in process ${Math.round(m('changes') / m('inProcessSeconds'))} changes/s (${median(runs.map((r) => r.inProcessSeconds! / r.applySeconds!)).toFixed(2)}x)`,
    );
  }
  const dbzRuns = runs.filter((r) => r.dbzSeconds);
  if (dbzRuns.length > 0)
    log(
      `Debezium (at-least-once, not transactional): ${Math.round(median(dbzRuns.map((r) => r.changes! / r.dbzSeconds!)))} changes/s, ${median(dbzRuns.map((r) => (r.dbzCpuSeconds! / r.changes!) * 1e6)).toFixed(1)} CPU µs per change, peak RSS ${Math.round(median(dbzRuns.map((r) => r.dbzPeakRssMb!)))} MB; carve publish/Debezium rate ${median(dbzRuns.map((r) => r.dbzSeconds! / r.publishSeconds!)).toFixed(2)}x, Debezium/carve CPU ${median(dbzRuns.map((r) => r.dbzCpuSeconds! / r.publishCpuSeconds!)).toFixed(2)}x`,
    );
  writeFileSync(join(outDir, 'events-results.json'), JSON.stringify(rows, null, 2));
} finally {
  await kafka.destroy();
  await natsServer?.destroy();
  await source.destroy();
  await target.destroy();
}
