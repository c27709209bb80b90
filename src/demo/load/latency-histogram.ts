/**
 * Latencies in log-spaced buckets (2% wide), so a long run at a high rate keeps constant memory
 * and percentiles stay within 2% of the exact value.
 */
export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private total = 0;
  private maxMs = 0;
  private sumMs = 0;
  private static readonly base = Math.log(1.02);

  record(ms: number): void {
    const value = Math.max(ms, 0.001);
    const bucket = Math.floor(Math.log(value * 1000) / LatencyHistogram.base);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
    this.total++;
    this.sumMs += value;
    if (value > this.maxMs) this.maxMs = value;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxMs;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sumMs / this.total;
  }

  /** The latency below which `p` (0 … 1) of the samples fall; 0 when empty. */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.total));
    let seen = 0;
    for (const bucket of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(bucket)!;
      // Report the bucket's upper edge, capped by the true maximum.
      if (seen >= rank) return Math.min(this.maxMs, Math.exp((bucket + 1) * LatencyHistogram.base) / 1000);
    }
    return this.maxMs;
  }
}
