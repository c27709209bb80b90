import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export interface StreamEvent {
  subject: string;
  seq: number;
  /** Nats-Msg-Id. */
  msgId: string | undefined;
  value: Record<string, unknown> | null;
  headers: Map<string, string>;
}

/**
 * Every message of a JetStream stream on `subject` (a filter, wildcards allowed), in stream
 * order, read through an ephemeral pull consumer (explicit ack none: read-only).
 */
export async function readStream(server: string, stream: string, subject: string): Promise<StreamEvent[]> {
  const nc = await connect({ servers: [server] });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const last = info.state.last_seq;
    const created = await jsm.consumers.add(stream, {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
      inactive_threshold: 60_000_000_000,
    });
    const consumer = await jetstream(nc).consumers.get(stream, created.name);
    const out: StreamEvent[] = [];
    let pending = created.num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 1000), expires: 5000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        const headers = new Map<string, string>();
        for (const [k, v] of m.headers ?? []) headers.set(k, v[0]!);
        out.push({
          subject: m.subject,
          seq: m.seq,
          msgId: headers.get('Nats-Msg-Id'),
          value: m.data.length ? (m.json() as Record<string, unknown>) : null,
          headers,
        });
        if (m.seq >= last) pending = 0;
      }
      if (got === 0) break;
      pending = Math.max(0, pending - got);
    }
    await jsm.consumers.delete(stream, created.name).catch(() => {});
    return out;
  } finally {
    await nc.close();
  }
}
