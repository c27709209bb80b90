/**
 * pgoutput decode rate, and the live stream rate next to pg_recvlogical's on the same backlog.
 *
 *   node --input-type=module -e "import('vite').then((v) => v.runnerImport('./bench/decode.ts'))"
 *
 * Env: CHANGES (default 300000) rows changed in the backlog, ROUNDS (default 5) decode passes.
 * The captured payloads are kept in bench/out/decode-payloads.bin (delete it to capture again).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster } from '../src/cluster/local-cluster.js';
import { withClient } from '../src/pg/connect.js';
import { ensurePublication } from '../src/pg/replication/publication.js';
import { ReplicationStream } from '../src/pg/replication/replication-stream.js';
import { createSlotWithSnapshot } from '../src/pg/replication/slot.js';
import { decodePgoutput } from '../src/sync/pgoutput/index.js';

const here = new URL('.', import.meta.url).pathname;
const outDir = join(here, 'out');
const payloadFile = join(outDir, 'decode-payloads.bin');
const CHANGES = Number(process.env.CHANGES ?? 300_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const isChange = (payload: Buffer): boolean =>
  payload[0] === 0x49 || payload[0] === 0x55 || payload[0] === 0x44; // I U D

async function capture(): Promise<void> {
  const cluster = await startCluster({ name: 'bench-decode', fsync: false });
  try {
    const url = cluster.url();
    await withClient(url, async (c) => {
      // A typical OLTP row: keys, a name, a timestamp, money, a flag, a small jsonb, a note.
      await c.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, name text, placed timestamptz,
                     total numeric(12,2), paid boolean, meta jsonb, note text)`);
      await ensurePublication(c, 'bench', [{ schema: 'public', name: 'orders' }]);
    });
    for (const slot of ['bench_carve', 'bench_recvlogical'])
      await (await createSlotWithSnapshot(url, slot)).close();
    const inserts = Math.round(CHANGES * 0.6);
    const updates = Math.round(CHANGES * 0.3);
    const deletes = CHANGES - inserts - updates;
    await withClient(url, async (c) => {
      for (let from = 1; from <= inserts; from += 10_000) {
        await c.query(
          `INSERT INTO orders SELECT i, i % 5000, 'customer ' || i, now() - i * interval '1 second', (i % 100000) / 100.0,
                  i % 2 = 0, jsonb_build_object('channel', 'web', 'items', i % 7), CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || md5(i::text) END
             FROM generate_series($1::bigint, $2::bigint) AS i`,
          [from, Math.min(inserts, from + 9_999)],
        );
      }
      await c.query(`UPDATE orders SET paid = NOT paid, total = total + 1 WHERE id <= $1`, [updates]);
      await c.query(`DELETE FROM orders WHERE id > $1`, [inserts - deletes]);
    });
    const end: string = await withClient(
      url,
      async (c) => (await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l,
    );

    // carve's stream: read and decode everything up to the end of the backlog.
    const stream = await ReplicationStream.start({ url, slot: 'bench_carve', publication: 'bench' });
    const payloads: Buffer[] = [];
    let changes = 0;
    const started = process.hrtime.bigint();
    for (;;) {
      const batch = (await stream.readBatch(4096))!;
      let done = false;
      for (const m of batch) {
        if (m.kind !== 'xlogdata') continue;
        payloads.push(m.payload);
        decodePgoutput(m.payload);
        if (isChange(m.payload)) changes++;
        if (m.payload[0] === 0x43 && changes >= CHANGES) done = true;
      }
      if (done) break;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await stream.stop();
    console.log(
      `live stream + decode (carve):  ${changes} changes in ${seconds.toFixed(2)} s = ${Math.round(changes / seconds)} changes/s`,
    );

    // pg_recvlogical on an identical slot, same backlog, writing to /dev/null.
    const recv = join(cluster.binaries.binDir, 'pg_recvlogical');
    const t0 = process.hrtime.bigint();
    const result = spawnSync(
      recv,
      [
        '-d',
        url,
        '--slot',
        'bench_recvlogical',
        '--start',
        '--endpos',
        end,
        '-o',
        'proto_version=1',
        '-o',
        'publication_names=bench',
        '-f',
        '/dev/null',
        '--no-loop',
      ],
      { encoding: 'utf8' },
    );
    const recvSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (result.status !== 0) console.log(`pg_recvlogical failed: ${result.stderr}`);
    else
      console.log(
        `live stream (pg_recvlogical):  ${CHANGES} changes in ${recvSeconds.toFixed(2)} s = ${Math.round(CHANGES / recvSeconds)} changes/s (endpos ${end})`,
      );

    mkdirSync(outDir, { recursive: true });
    const sizes = Buffer.alloc(4 * payloads.length);
    payloads.forEach((p, i) => sizes.writeUInt32BE(p.length, i * 4));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(payloads.length);
    writeFileSync(payloadFile, Buffer.concat([header, sizes, ...payloads]));
  } finally {
    await cluster.destroy();
  }
}

function load(): Buffer[] {
  const file = readFileSync(payloadFile);
  const count = file.readUInt32BE(0);
  const payloads: Buffer[] = [];
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const size = file.readUInt32BE(4 + 4 * i);
    payloads.push(file.subarray(at, at + size));
    at += size;
  }
  return payloads;
}

if (!existsSync(payloadFile)) await capture();
const payloads = load();
const changes = payloads.filter(isChange).length;
const bytes = payloads.reduce((sum, p) => sum + p.length, 0);
console.log(
  `payload set: ${payloads.length} messages, ${changes} changes, ${(bytes / 1e6).toFixed(1)} MB (${payloadFile})`,
);
for (let round = 0; round <= ROUNDS; round++) {
  const started = process.hrtime.bigint();
  let columns = 0;
  for (const payload of payloads) {
    const m = decodePgoutput(payload);
    if (m.tag === 'insert' || m.tag === 'update') columns += m.newTuple.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (round === 0) continue; // warm-up
  console.log(
    `decode round ${round}: ${Math.round(changes / seconds)} changes/s, ${Math.round(payloads.length / seconds)} messages/s, ${(bytes / 1e6 / seconds).toFixed(0)} MB/s (${columns} columns)`,
  );
}
