import { VqlRuntimeError } from './errors.js';

/** A seeded pseudo-random stream (sfc32, seeded through splitmix32). Not cryptographic. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T;
  /** A shuffled `Int32Array` of 0..n-1. */
  permutation(n: number): Int32Array;
  /** An integer seed for tfjs ops that take one (`tf.randomNormal(shape, 0, 1, 'float32', seed)`). */
  tfSeed(): number;
  /** An independent stream derived from this one's next outputs. */
  fork(): Rng;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(text: string): number {
  // FNV-1a, so string seeds ("movielens/negatives") are as reproducible as numbers.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.uint32() / 4294967296;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new VqlRuntimeError('INVALID_ARGUMENT', `rng.int(n): n must be a positive integer, got ${n}.`);
    }
    // 53-bit draw keeps the modulo bias negligible for any n below 2^32.
    const x = this.uint32() * 2097152 + (this.uint32() >>> 11);
    return x % n;
  }

  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }

  tfSeed(): number {
    return this.uint32() >>> 1;
  }

  fork(): Rng {
    return new Sfc32((this.uint32() ^ Math.imul(this.uint32(), 0x2545f491)) >>> 0);
  }
}

/** Creates a seeded RNG. The same seed (number or string) always gives the same stream. */
export function createRng(seed: number | string): Rng {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) {
      throw new VqlRuntimeError('INVALID_ARGUMENT', `createRng(seed): seed must be a finite number or a string, got ${seed}.`);
    }
    return new Sfc32((Math.floor(seed) ^ Math.floor(seed / 4294967296)) >>> 0);
  }
  if (typeof seed !== 'string') {
    throw new VqlRuntimeError('INVALID_ARGUMENT', `createRng(seed): seed must be a number or a string, got ${typeof seed}.`);
  }
  return new Sfc32(hashString(seed));
}
