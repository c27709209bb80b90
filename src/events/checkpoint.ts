import { formatLsn, parseLsn, type Lsn } from '../pg/lsn.js';

/**
 * The publisher's position, written as the last record of each of its Kafka transactions on
 * carve's checkpoint topic (kept like the change topics, not compacted: `carve apply` reads every checkpoint's ranges): every source transaction committing before `lsn` is in the
 * change topics, exactly once; `ranges` are the offsets [from, to) this transaction wrote per
 * topic and partition (what `carve apply` reads, so it never reads aborted records).
 */
export interface Checkpoint {
  lsn: Lsn;
  /** Source commit time (ISO) of the last source transaction in it, when known. */
  commitTime: string | null;
  ranges: Map<string, Map<number, [bigint, bigint]>>;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const ranges: Record<string, [number, string, string][]> = {};
  for (const [topic, partitions] of checkpoint.ranges) {
    ranges[topic] = [...partitions].map(([p, [from, to]]) => [p, String(from), String(to)]);
  }
  return Buffer.from(
    JSON.stringify({ lsn: formatLsn(checkpoint.lsn), commit_time: checkpoint.commitTime, ranges }),
  );
}

export function decodeCheckpoint(value: Buffer): Checkpoint {
  const raw = JSON.parse(value.toString()) as {
    lsn: string;
    commit_time: string | null;
    ranges: Record<string, [number, string, string][]>;
  };
  const ranges = new Map<string, Map<number, [bigint, bigint]>>();
  for (const [topic, list] of Object.entries(raw.ranges ?? {})) {
    ranges.set(topic, new Map(list.map(([p, from, to]) => [p, [BigInt(from), BigInt(to)]])));
  }
  return { lsn: parseLsn(raw.lsn), commitTime: raw.commit_time, ranges };
}
