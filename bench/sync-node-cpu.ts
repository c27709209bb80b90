/**
 * CPU per change of carve sync's Node side alone, stage by stage, without PostgreSQL: pgoutput
 * payloads as the walsender frames them (XLogData in CopyData, cut into 64 KiB socket reads) are
 * received (RECEIVE=framer, the default: copy-data-framer.ts and XLogFrame views, as carve sync
 * does; RECEIVE=pg: pg's protocol parser and a copied payload per message, as before 2026-12-04),
 * then go through the row-change scan, routing, collapsing (PendingChanges) and the framing of the
 * apply statements' parameters. Not measured here: the queues between stream and appliers, the
 * statements' round trips (bench/sync.ts measures the whole process).
 *
 *   node --input-type=module -e "import('vite').then((v) => v.runnerImport('./bench/sync-node-cpu.ts'))"
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { pg } from '../src/pg/connect.js';
import { CopyDataFramer } from '../src/pg/replication/copy-data-framer.js';
import { parseServerCopyData, parseServerCopyDataAt, XLogFrame } from '../src/pg/replication/protocol.js';
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

const RECEIVE = process.env.RECEIVE ?? 'framer';
const BLOCK = 10_000;
/** One block of messages as the socket delivers them: CopyData frames in 64 KiB reads. */
const wire = Buffer.concat(
  Array.from({ length: BLOCK }, (_, i) => {
    const body = xlogUpdate(i + 1);
    const frame = Buffer.alloc(5);
    frame[0] = 0x64;
    frame.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([frame, body]);
  }),
);
const reads: Buffer[] = [];
for (let at = 0; at < wire.length; at += 65536) reads.push(wire.subarray(at, at + 65536));

/** A receiver: push the block's socket reads, get the scanned payloads' messages back. */
function receiver(): (out: { buf: Buffer; start: number; end: number }[]) => void {
  const socket = new EventEmitter();
  let out: { buf: Buffer; start: number; end: number }[] = [];
  if (RECEIVE === 'pg') {
    const connection = new pg.Connection() as unknown as EventEmitter & {
      attachListeners(stream: EventEmitter): void;
    };
    connection.attachListeners(socket);
    connection.on('copyData', (message: { chunk: Buffer }) => {
      const payload = (parseServerCopyData(message.chunk, { copyPayload: true }) as { payload: Buffer })
        .payload;
      out.push({ buf: payload, start: 0, end: payload.length });
    });
  } else {
    socket.on('data', () => {}); // pg's listener, which the framer takes over
    CopyDataFramer.install(socket as unknown as Duplex, (buf, start, end) => {
      const frame = parseServerCopyDataAt(buf, start, end) as XLogFrame;
      out.push({ buf: frame.buf, start: frame.payloadStart, end: frame.end });
    });
  }
  return (into) => {
    out = into;
    // A socket hands out a fresh buffer per read.
    for (const read of reads) socket.emit('data', Buffer.from(read));
  };
}
const receive = receiver();
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const stages = { receive: 0, 'scan + route': 0, collapse: 0, frame: 0, bind: 0 };
const arrays = new BinaryTextArrays();
/** Rows per statement (row-writer.ts: a flush's rows of one kind, about 10,000). */
const ROWS = Number(process.env.ROWS ?? 10_000);
for (let round = 0; round < 3; round++) {
  for (const k of Object.keys(stages)) stages[k as keyof typeof stages] = 0;
  const t0 = cpu();
  for (let done = 0; done < N; done += BLOCK) {
    let t = cpu();
    const payloads: { buf: Buffer; start: number; end: number }[] = [];
    receive(payloads);
    let t2 = cpu();
    stages.receive += t2 - t;
    const routed: RoutedChange[] = [];
    for (const p of payloads) routeRawChange(relation, scanRowChange(p.buf, p.start, p.end)!, routed);
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
    `RECEIVE=${RECEIVE} round ${round + 1}: ${(total / N).toFixed(2)} µs/change; ` +
      Object.entries(stages)
        .map(([k, v]) => `${k} ${(v / N).toFixed(2)}`)
        .join(', '),
  );
}
