/**
 * A small deterministic PRNG (mulberry32) seeded from (seed, stream): transaction k of a load run
 * draws from stream k, so which operations run, and with which values, depends only on the seed —
 * not on which connection happens to execute it or when.
 */
export class Prng {
  private state: number;

  constructor(seed: number, stream: number) {
    this.state = mix(
      mix(seed | 0, Math.floor(seed / 2 ** 32)) ^ mix(stream | 0, Math.floor(stream / 2 ** 32)),
      0x9e3779b9,
    );
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Lowercase hex digits. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += (this.int(0, 0xffff) + 0x10000).toString(16).slice(1);
    return out.slice(0, length);
  }

  /** A version-4-shaped uuid. */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i += 4) {
      const word = Math.floor(this.next() * 4294967296);
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xc2b2ae35) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
