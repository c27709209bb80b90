/**
 * Records what the real Debezium PostgreSQL connector publishes for a table with every CareSync
 * column type (inserts, updates with and without REPLICA IDENTITY FULL, unchanged TOAST values, a
 * key change, deletes, a truncate, snapshot reads), into test/fixtures/debezium/. The envelope
 * encoder's unit tests compare carve's events with these. Needs java, mvn and the shared
 * debezium.sh tool; run: node --input-type=module -e "import('vite').then((v) => v.runnerImport('./bench/debezium/golden.ts'))"
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Consumer } from '@platformatic/kafka';
import { startCluster } from '../../src/cluster/local-cluster.js';
import { startKafka } from '../../src/cluster/local-kafka.js';
import { withClient } from '../../src/pg/connect.js';
import { EVERY_TYPE_DDL, everyTypeWrites } from '../../test/fixtures/debezium/every-type.js';

const tool =
  process.env.DEBEZIUM_SH ??
  [join(process.cwd(), '..', 'shared'), join(process.cwd(), '..', '..', 'shared')]
    .map((dir) => join(dir, 'tools', 'debezium.sh'))
    .find((path) => existsSync(path)) ??
  'debezium.sh';
const out = join(process.cwd(), 'test', 'fixtures', 'debezium');

const pg = await startCluster({ name: 'golden', fsync: false });
const kafka = await startKafka({ name: 'golden', heapMb: 512 });
try {
  const url = pg.url();
  await withClient(url, async (c) => {
    for (const sql of EVERY_TYPE_DDL) await c.query(sql);
  });
  for (const schemas of ['true', 'false']) {
    const prefix = schemas === 'true' ? 'dbzs' : 'dbzp';
    // One row before the connector starts: its snapshot read (op r).
    await withClient(url, (c) => c.query(everyTypeWrites.snapshotRow));
    const pid = execFileSync(
      'bash',
      [tool, 'start', url, kafka.bootstrap, prefix, 'public.every_type,public.every_type_full'],
      {
        env: {
          ...process.env,
          DBZ_SCHEMAS: schemas,
          DBZ_HEAP: '-Xms128m -Xmx768m',
          DBZ_EXTRA: 'skipped.operations=none\nprovide.transaction.metadata=true',
          DBZ_PLUGIN_DISCOVERY: 'service_load',
        },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ).trim();
    await withClient(url, async (c) => {
      for (const sql of everyTypeWrites.stream) await c.query(sql);
    });
    const topics = [
      `${prefix}.public.every_type`,
      `${prefix}.public.every_type_full`,
      `${prefix}.transaction`,
    ];
    const admin = new Admin({ clientId: 'golden', bootstrapBrokers: [kafka.bootstrap] });
    const events: Record<string, unknown[]> = {};
    const deadline = Date.now() + 90_000;
    let present: string[] = [];
    while (present.length < topics.length && Date.now() < deadline) {
      present = (await admin.listTopics()).filter((t) => topics.includes(t));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await admin.close();
    const consumer = new Consumer({
      clientId: 'golden',
      groupId: `golden-${prefix}`,
      bootstrapBrokers: [kafka.bootstrap],
    });
    const stream = await consumer.consume({
      topics: present,
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    });
    let last = Date.now();
    stream.on('data', (message) => {
      last = Date.now();
      (events[message.topic] ??= []).push({
        key: message.key?.length ? JSON.parse(message.key.toString()) : null,
        value: message.value?.length ? JSON.parse(message.value.toString()) : null,
      });
    });
    while (Date.now() < deadline) {
      const count = (events[`${prefix}.public.every_type_full`] ?? []).length;
      if (count >= 12 && Date.now() - last > 3000) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await stream.close();
    await consumer.close(true);
    execFileSync('bash', [tool, 'stop', pid], { stdio: 'inherit' });
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, `debezium-${schemas === 'true' ? 'schemas' : 'payload'}.json`),
      JSON.stringify(events, null, 2) + '\n',
    );
    console.log(prefix, Object.fromEntries(Object.entries(events).map(([k, v]) => [k, v.length])));
  }
} finally {
  await kafka.destroy();
  await pg.destroy();
}
