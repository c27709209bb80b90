import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CarveError } from '../errors.js';
import { ensureKafkaJars, KAFKA_VERSION } from './kafka-jars.js';
import { forgetCluster, processStartTime, reapLeftoverClusters, trackCluster } from './leftovers.js';
import { clusterBaseDir } from './local-cluster.js';
import { ServerProcess } from './server-process.js';

export interface StartKafkaOptions {
  /** Short label used in the directory name. */
  name?: string;
  /** Where broker directories live (shared with the PostgreSQL clusters, so one reaper serves both). */
  baseDir?: string;
  /** JVM heap in MiB (default 256: tests run beside other servers on two cores). */
  heapMb?: number;
  /** Extra JVM flags; default favours start-up time over peak throughput (C1 only, serial GC). */
  jvmFlags?: string[];
  /** Extra server.properties, written verbatim. */
  settings?: Record<string, string | number | boolean>;
}

/**
 * A throwaway single-node Apache Kafka broker in KRaft mode (broker and controller in one JVM, no
 * ZooKeeper) on free loopback ports: `kafka.tools.StorageTool format`, then `kafka.Kafka
 * server.properties`. Removed when this process exits; one left behind by a killed process is
 * removed by the next start (src/cluster/leftovers.ts, pid in server.pid).
 */
export class LocalKafka extends ServerProcess {
  constructor(
    rootDir: string,
    readonly port: number,
    readonly controllerPort: number,
    private readonly java: string[],
  ) {
    super(rootDir);
  }

  get bootstrap(): string {
    return `${this.host}:${this.port}`;
  }

  /** Start the broker (again, with its data) and wait until it accepts requests. */
  async start(): Promise<void> {
    if (this.isRunning) return;
    const child = await this.spawnServer('java', [
      ...this.java,
      'kafka.Kafka',
      join(this.rootDir, 'server.properties'),
    ]);
    await waitForStart(this, child);
  }

  /**
   * Run one of Kafka's command-line tools against this broker, as its bin/ script would (e.g.
   * kafka-transactions.sh is org.apache.kafka.tools.TransactionsCommand): exit code and output.
   */
  async tool(mainClass: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('java', [...this.java, mainClass, ...args], {
        cwd: this.rootDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, output }));
    });
  }
}

const DEFAULT_SETTINGS: Record<string, string | number | boolean> = {
  'process.roles': 'broker,controller',
  'node.id': 1,
  'controller.listener.names': 'CONTROLLER',
  'inter.broker.listener.name': 'PLAINTEXT',
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
  // One node: every internal topic with one replica and one partition (fast first use).
  'offsets.topic.replication.factor': 1,
  'offsets.topic.num.partitions': 1,
  'transaction.state.log.replication.factor': 1,
  'transaction.state.log.min.isr': 1,
  'transaction.state.log.num.partitions': 1,
  'share.coordinator.state.topic.replication.factor': 1,
  'group.initial.rebalance.delay.ms': 0,
  'num.partitions': 1,
  'auto.create.topics.enable': false,
  'num.network.threads': 2,
  'num.io.threads': 2,
  'log.cleaner.threads': 1,
};

/** Format storage and start a fresh broker on free ports; registered for removal at exit. */
export async function startKafka(options: StartKafkaOptions = {}): Promise<LocalKafka> {
  const libs = await ensureKafkaJars();
  const base = options.baseDir ?? clusterBaseDir();
  mkdirSync(base, { recursive: true });
  reapLeftoverClusters(base);

  const label = (options.name ?? 'kafka').replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 24);
  const rootDir = join(base, `kafka-${label}-${randomBytes(4).toString('hex')}`);
  mkdirSync(rootDir, { mode: 0o700 });
  writeFileSync(
    join(rootDir, 'owner.json'),
    JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), keep: false }),
  );
  trackCluster(rootDir);
  writeFileSync(join(rootDir, 'log4j2.properties'), LOG4J);
  const heap = options.heapMb ?? 256;
  const java = [
    `-Xmx${heap}m`,
    `-Xms${Math.min(heap, 64)}m`,
    ...(options.jvmFlags ?? ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k']),
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(rootDir, 'log4j2.properties')}`,
    '-cp',
    `${libs}/*`,
  ];

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [port, controllerPort] = await Promise.all([freePort(), freePort()]);
    const settings = {
      ...DEFAULT_SETTINGS,
      'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
      'log.dirs': join(rootDir, 'data'),
      ...options.settings,
    };
    writeFileSync(
      join(rootDir, 'server.properties'),
      Object.entries(settings)
        .map(([k, v]) => `${k}=${typeof v === 'boolean' ? String(v) : v}`)
        .join('\n') + '\n',
    );
    rmSync(join(rootDir, 'data'), { recursive: true, force: true });
    await format(rootDir, java);
    const kafka = new LocalKafka(rootDir, port, controllerPort, java);
    try {
      await kafka.start();
      return kafka;
    } catch (cause) {
      lastError = cause;
      await kafka.stop('kill');
      if (!/Address already in use|BindException/i.test(kafka.logTail(40))) break;
    }
  }
  const tail = existsSync(join(rootDir, 'server.log'))
    ? readFileSync(join(rootDir, 'server.log'), 'utf8').slice(-3000)
    : '';
  rmSync(rootDir, { recursive: true, force: true });
  forgetCluster(rootDir);
  throw new CarveError('KAFKA_START_FAILED', `Kafka ${KAFKA_VERSION} did not start in ${rootDir}\n${tail}`, {
    details: { directory: rootDir },
    hint: 'See the broker log above; check that java (17+) runs and that memory is free.',
    cause: lastError,
  });
}

async function format(rootDir: string, java: string[]): Promise<void> {
  // A KRaft cluster id is 16 random bytes, base64url without padding.
  const clusterId = randomBytes(16).toString('base64url');
  const args = [
    ...java,
    'kafka.tools.StorageTool',
    'format',
    // One argument: a random id may start with '-', which argparse would take for an option.
    `--cluster-id=${clusterId}`,
    '-c',
    join(rootDir, 'server.properties'),
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('java', args, { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new CarveError(
              'KAFKA_START_FAILED',
              `kafka-storage format failed in ${rootDir}: ${output.trim().slice(-2000)}`,
              {
                details: { directory: rootDir },
                hint: 'Check that java (17+) runs and that the cached Kafka jars are complete (delete the cache to fetch again).',
              },
            ),
          ),
    );
  });
}

/** Wait for the broker's "started" log line; fail early if the JVM exits. */
async function waitForStart(kafka: LocalKafka, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  let offset = 0;
  try {
    offset = readFileSync(kafka.logFile).length;
  } catch {
    // new log
  }
  // The line may already be in the log from an earlier run of this broker: only look at what is new.
  const startedAt = offset;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the broker exited (${child.exitCode ?? child.signalCode}):\n${kafka.logTail(40)}`);
    const text = readFileSync(kafka.logFile).subarray(startedAt).toString('utf8');
    if (text.includes('Kafka Server started')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the broker did not start within 120 s:\n${kafka.logTail(40)}`);
}

const LOG4J = `status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
