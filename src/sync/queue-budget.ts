/**
 * One memory bound for the queues of every sink of a streaming session (`BatchSettings.queueBytes`,
 * 8 MiB by default), instead of one bound per sink: nine service databases used to mean nine
 * times the memory of one (issue 15: 327 MB peak RSS into CareSync's nine databases).
 *
 * The stream reader pauses (backpressure) when the queues together reach `maxBytes`, or when one
 * queue reaches its own limit — all of the budget when it is the only queue, half of it when
 * there are several, so a slow or held sink can take at most half and always leaves the other
 * half to the rest. The reader goes on once the queues together are below half of the budget
 * (which also puts every queue below its limit). Nothing is ever dropped: a push always succeeds;
 * only the reader waits.
 */
export class QueueBudget {
  private bytesValue = 0;
  private queues = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly maxBytes: number) {}

  /** Bytes queued in all queues of this budget. */
  get bytes(): number {
    return this.bytesValue;
  }

  /** What one queue may hold before it pauses the reader. */
  get queueLimit(): number {
    return this.queues > 1 ? this.maxBytes / 2 : this.maxBytes;
  }

  /** A queue starts sharing the budget. */
  join(): void {
    this.queues++;
  }

  /** Whether the reader must wait, given the bytes of the queue it just pushed to. */
  full(queueBytes: number): boolean {
    return this.bytesValue >= this.maxBytes || queueBytes >= this.queueLimit;
  }

  add(bytes: number): void {
    this.bytesValue += bytes;
  }

  release(bytes: number): void {
    this.bytesValue -= bytes;
    if (this.waiters.length && this.bytesValue < this.maxBytes / 2) this.wake();
  }

  /** Resolves once the queues together are below half of the budget (immediately when `queueBytes` is not full). */
  waitForSpace(queueBytes: number): Promise<void> {
    if (!this.full(queueBytes)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Release every waiting reader (a queue was cleared: the session is ending). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
