import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/demo/load/latency-histogram.js';
import { Prng } from '../../src/demo/load/prng.js';

describe('load PRNG', () => {
  it('gives the same stream for the same (seed, stream) and different ones otherwise', () => {
    const draw = (seed: number, stream: number) => {
      const r = new Prng(seed, stream);
      return [r.next(), r.int(1, 100), r.uuid(), r.hex(8)];
    };
    expect(draw(1, 5)).toEqual(draw(1, 5));
    expect(draw(1, 5)).not.toEqual(draw(1, 6));
    expect(draw(1, 5)).not.toEqual(draw(2, 5));
  });

  it('draws uniformly inside the bounds', () => {
    const r = new Prng(3, 0);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const v = r.int(0, 9);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(9);
      counts[v]++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(1700);
    expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.bytes(7)).toHaveLength(7);
  });
});

describe('latency histogram', () => {
  it('reports percentiles within 2% of the exact values', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 … 100 ms
    expect(h.count).toBe(1000);
    expect(h.percentile(0.5)).toBeGreaterThanOrEqual(50 * 0.98);
    expect(h.percentile(0.5)).toBeLessThanOrEqual(50 * 1.02);
    expect(h.percentile(0.99)).toBeGreaterThanOrEqual(99 * 0.98);
    expect(h.percentile(0.99)).toBeLessThanOrEqual(99 * 1.02);
    expect(h.percentile(1)).toBe(100);
    expect(h.max).toBe(100);
    expect(new LatencyHistogram().percentile(0.5)).toBe(0);
  });
});
