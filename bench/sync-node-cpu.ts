/**
 * CPU per change of carve sync's Node side alone, stage by stage, without PostgreSQL: pgoutput
 * payloads as the walsender frames them (XLogData) go through parseServerCopyData, the row-change
 * scan, routing, collapsing (PendingChanges) and the framing of the apply statements' parameters.
 * Not measured here: pg's protocol parser, the queues between stream and appliers, the statements'
 * round trips (bench/sync.ts measures the whole process).
 *
 *   node --input-type=module -e "import('vite').then((v) => v.runnerImport('./bench/sync-node-cpu.ts'))"
 */
import { parseServerCopyData } from '../src/pg/replication/protocol.js';
import { scanRowChange } from '../src/sync/pgoutput/raw-change.js';
import { PendingChanges } from '../src/sync/pending-changes.js';
import { routeRawChange, type RoutedChange } from '../src/sync/route-change.js';
import { rowColumns } from '../src/sync/row-columns.js';
import type { RelationPlan, RoutePlan } from '../src/sync/route-plan.js';
import { serialize } from 'pg-protocol';
import { BinaryTextArrays } from '../src/pg/text-array.js';

const N = Number(process.env.N ?? 1_000_000);
const columns = ['id', 'patient_id', 'provider_id', 'starts_at', 'status', 'notes'];
const plan = {
  route: { id: 'appointments', source: { schema: 'public', name: 'appointments' } },
  columns: columns.map((name, index) => ({ source: name, target: name, index, type: 'text' })),
  key: [0],
  identity: true,
} as unknown as RoutePlan;
const relation = { routes: [plan] } as unknown as RelationPlan;

function xlogUpdate(id: number): Buffer {
  const values = [
    String(id),
    String(id * 7),
    String(id % 100),
    '2026-12-04 10:00:00+00',
    'done',
    'note ' + id,
  ];
  const parts: Buffer[] = [];
  const head = Buffer.alloc(25 + 1 + 4 + 1 + 2);
  head[0] = 0x77;
  head.writeBigUInt64BE(0x16b374d848n, 1);
  head.writeBigUInt64BE(0x16b374d848n, 9);
  head.writeBigInt64BE(820_000_000_000_000n, 17);
  head[25] = 0x55;
  head.writeUInt32BE(16384, 26);
  head[30] = 0x4e;
  head.writeInt16BE(values.length, 31);
  parts.push(head);
  for (const v of values) {
    const b = Buffer.from(v);
    const h = Buffer.alloc(5);
    h[0] = 0x74;
    h.writeInt32BE(b.length, 1);
    parts.push(h, b);
  }
  return Buffer.concat(parts);
}

const chunks = Array.from({ length: 100_000 }, (_, i) => xlogUpdate(i + 1));
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const stages = { parse: 0, 'scan + route': 0, collapse: 0, frame: 0, bind: 0 };
const arrays = new BinaryTextArrays();
const BLOCK = 10_000;
/** Rows per statement (row-writer.ts: a flush's rows of one kind, about 10,000). */
const ROWS = Number(process.env.ROWS ?? 10_000);
for (let round = 0; round < 3; round++) {
  for (const k of Object.keys(stages)) stages[k as keyof typeof stages] = 0;
  const t0 = cpu();
  for (let done = 0; done < N; done += BLOCK) {
    let t = cpu();
    const payloads: Buffer[] = new Array<Buffer>(BLOCK);
    for (let i = 0; i < BLOCK; i++)
      payloads[i] = (
        parseServerCopyData(chunks[(done + i) % chunks.length]!, { copyPayload: true }) as { payload: Buffer }
      ).payload;
    let t2 = cpu();
    stages.parse += t2 - t;
    const routed: RoutedChange[] = [];
    for (let i = 0; i < BLOCK; i++) routeRawChange(relation, scanRowChange(payloads[i]!)!, routed);
    t = cpu();
    stages['scan + route'] += t - t2;
    const pending = new PendingChanges();
    for (const change of routed) pending.add(change as Exclude<RoutedChange, { kind: 'move' }>);
    t2 = cpu();
    stages.collapse += t2 - t;
    for (const flush of pending.drain())
      for (let r = 0; r < flush.updates.length; r += ROWS) {
        const values = rowColumns(plan, flush.updates.slice(r, r + ROWS), arrays);
        t = cpu();
        stages.frame += t - t2;
        // pg's Bind message of these parameters (what client.query() copies them into).
        serialize.bind({ values });
        t2 = cpu();
        stages.bind += t2 - t;
      }
  }
  const total = cpu() - t0;
  console.log(
    `round ${round + 1}: ${(total / N).toFixed(2)} µs/change; ` +
      Object.entries(stages)
        .map(([k, v]) => `${k} ${(v / N).toFixed(2)}`)
        .join(', '),
  );
}
