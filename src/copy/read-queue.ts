import type { ReadGroup } from './copy-plan.js';

/**
 * The copy workers' shared queue. Reads come largest first, but a worker takes the largest read
 * of a relation no other worker is loading when there is one: two COPYs into one target table
 * wait on each other for its extension lock (and its TOAST table's), while two different tables
 * load side by side. When every remaining read is of a relation in flight, it takes the largest.
 */
export class ReadQueue {
  private readonly queue: ReadGroup[];
  private readonly inFlight = new Map<string, number>();

  constructor(groups: readonly ReadGroup[]) {
    this.queue = [...groups];
  }

  get size(): number {
    return this.queue.length;
  }

  take(): ReadGroup | undefined {
    const free = this.queue.findIndex((g) => !this.inFlight.get(relationKey(g)));
    const [group] = this.queue.splice(Math.max(0, free), 1);
    if (group) this.inFlight.set(relationKey(group), (this.inFlight.get(relationKey(group)) ?? 0) + 1);
    return group;
  }

  /** The worker is done with a read it took (loaded, failed or given up). */
  release(group: ReadGroup): void {
    const key = relationKey(group);
    const n = (this.inFlight.get(key) ?? 1) - 1;
    if (n > 0) this.inFlight.set(key, n);
    else this.inFlight.delete(key);
  }
}

function relationKey(group: ReadGroup): string {
  return JSON.stringify([group.read.relation.schema, group.read.relation.name]);
}
