import { VqlCacheStoreError, CacheFingerprintMismatchError } from './errors.js';
import { checkLayout, describeLayout, headOffsets, sameLayout, totalHeads } from './layout.js';
import type { CacheLayout } from './layout.js';

/** Version of the cache math and binary layout; bumped whenever old blobs would be misread. */
export const CACHE_FORMAT_VERSION = 1;

/**
 * The part of a `SeparableKernel` (@vql/temporal-kernel) the cache needs:
 * κ(tq − ti) = Σ_f queryFactors(tq, t0)_f · historyFactors(ti, t0)_f.
 */
export interface CacheKernel {
  readonly rank: number;
  queryFactors(tq: number, t0: number): Float64Array; // [F]
  historyFactorsBatch(times: Float64Array, t0: number): Float64Array; // [n*F], requires ti ≤ t0
  reanchorScale(t0: number, t0New: number): Float64Array; // [F]
}

/**
 * Behaviours already pushed through the model's key/value side: everything the cache needs from
 * one event, and nothing that depends on the target. Produced by `CacheModel.encodeEvents`.
 */
export interface EncodedEvents {
  readonly count: number; // n
  readonly times: Float64Array; // [n] in the kernel's time unit
  /** Code of event i in group g at `i*G + g`, in [0, K_g). */
  readonly codes: Int32Array; // [n*G]
  /** e^{b_i}, the query-independent context bias; `null` when the model has none (all 1). */
  readonly weights: Float64Array | Float32Array | null; // [n]
  /** v_i^h for every head in group-by-group order: `(i*H + h)*d_h + k`. */
  readonly values: Float32Array; // [n*H*d_h]
}

/** Sparse per-group sums: only codes that occur have a slot. */
export class CacheGroup {
  /** Number of used slots m. */
  size = 0;
  /** Code of each slot (insertion order; encoders sort). */
  codes: Int32Array; // [cap]
  /** N[slot, f] = Σ_{i: z_i = code} e^{b_i} h_f(t_i). */
  n: Float64Array; // [cap*F]
  /** S[slot, h, f, k] = Σ_{i: z_i = code} e^{b_i} h_f(t_i) v_i^h[k]. */
  s: Float64Array; // [cap*H_g*F*d_h]
  private readonly slotOf = new Map<number, number>();

  constructor(
    readonly heads: number,
    readonly rank: number,
    readonly headDim: number,
    capacity = 4,
  ) {
    this.codes = new Int32Array(capacity);
    this.n = new Float64Array(capacity * rank);
    this.s = new Float64Array(capacity * heads * rank * headDim);
  }

  /** Floats of S per slot. */
  get slotWidth(): number {
    return this.heads * this.rank * this.headDim;
  }

  slotIndex(code: number): number | undefined {
    return this.slotOf.get(code);
  }

  /** Slot of `code`, created (zeroed) if absent; capacity doubles so appends stay amortised O(1). */
  slot(code: number): number {
    const found = this.slotOf.get(code);
    if (found !== undefined) return found;
    if (this.size === this.codes.length) this.grow(Math.max(4, this.codes.length * 2));
    const slot = this.size++;
    this.codes[slot] = code;
    this.slotOf.set(code, slot);
    return slot;
  }

  private grow(capacity: number): void {
    const codes = new Int32Array(capacity);
    codes.set(this.codes.subarray(0, this.size));
    const n = new Float64Array(capacity * this.rank);
    n.set(this.n.subarray(0, this.size * this.rank));
    const s = new Float64Array(capacity * this.slotWidth);
    s.set(this.s.subarray(0, this.size * this.slotWidth));
    this.codes = codes;
    this.n = n;
    this.s = s;
  }

  clone(): CacheGroup {
    const c = new CacheGroup(this.heads, this.rank, this.headDim, Math.max(4, this.size));
    for (let slot = 0; slot < this.size; slot++) c.slot(this.codes[slot]!);
    c.n.set(this.n.subarray(0, this.size * this.rank));
    c.s.set(this.s.subarray(0, this.size * this.slotWidth));
    return c;
  }
}

/**
 * One user's VQL cache (DESIGN §1 "Cache"): per group g and occurring code j, N[g,j,f] and
 * S[g,h,j,f,·] around the anchor t0. Valid only for the model whose `fingerprint` it carries.
 * Mutated in place by `appendEvents`, `appendEncoded` and `reanchor`; `clone()` before sharing.
 */
export class UserCache {
  readonly formatVersion = CACHE_FORMAT_VERSION;
  readonly groups: CacheGroup[];

  constructor(
    readonly fingerprint: string,
    readonly layout: CacheLayout,
    /** t0: every event time is ≤ t0, so history factors stay ≤ 1. */
    public anchor: number,
    public eventCount = 0,
    /** Time of the newest event; −Infinity when empty. */
    public lastEventTime = Number.NEGATIVE_INFINITY,
    groups?: CacheGroup[],
  ) {
    if (typeof fingerprint !== 'string' || fingerprint.length === 0 || fingerprint.length > 255 || !/^[\x21-\x7e]+$/.test(fingerprint)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `new UserCache: fingerprint must be 1-255 printable ASCII characters, got ${JSON.stringify(fingerprint)}.`);
    }
    if (!Number.isFinite(anchor)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `new UserCache: anchor must be a finite time, got ${anchor}.`);
    }
    this.layout = checkLayout('new UserCache', layout);
    this.groups =
      groups ?? this.layout.headsPerGroup.map((h) => new CacheGroup(h, this.layout.kernelRank, this.layout.headDim));
  }

  /** Number of stored (group, code) entries. */
  get entryCount(): number {
    let m = 0;
    for (const g of this.groups) m += g.size;
    return m;
  }

  clone(): UserCache {
    return new UserCache(this.fingerprint, this.layout, this.anchor, this.eventCount, this.lastEventTime, this.groups.map((g) => g.clone()));
  }
}

/** Throws `CacheFingerprintMismatchError` unless `cache` was built for `fingerprint` with `layout`. */
export function checkCacheFor(where: string, cache: UserCache, fingerprint: string, layout: CacheLayout): void {
  if (!(cache instanceof UserCache)) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: expected a UserCache, got ${cache === null ? 'null' : typeof cache}.`);
  }
  if (cache.formatVersion !== CACHE_FORMAT_VERSION) {
    throw new VqlCacheStoreError('FORMAT_VERSION_MISMATCH', `${where}: cache format version ${cache.formatVersion} is not ${CACHE_FORMAT_VERSION}.`);
  }
  if (cache.fingerprint !== fingerprint) throw new CacheFingerprintMismatchError(where, fingerprint, cache.fingerprint);
  if (!sameLayout(cache.layout, layout)) {
    throw new VqlCacheStoreError(
      'LAYOUT_MISMATCH',
      `${where}: cache layout (${describeLayout(cache.layout)}) differs from the model's (${describeLayout(layout)}).`,
    );
  }
}

function checkEncoded(where: string, layout: CacheLayout, events: EncodedEvents): void {
  if (events == null || typeof events !== 'object') {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events must be EncodedEvents.`);
  }
  const n = events.count;
  const G = layout.headsPerGroup.length;
  const width = totalHeads(layout) * layout.headDim;
  if (!Number.isInteger(n) || n < 0) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.count must be a non-negative integer, got ${n}.`);
  const expect = (name: string, arr: { length: number } | null, len: number) => {
    if (arr === null || arr.length !== len) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.${name} must have length ${len}, got ${arr === null ? 'null' : arr.length}.`);
    }
  };
  expect('times', events.times, n);
  expect('codes', events.codes, n * G);
  expect('values', events.values, n * width);
  if (events.weights !== null) expect('weights', events.weights, n);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(events.times[i]!)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.times[${i}] = ${events.times[i]} is not finite.`);
    }
    if (events.weights !== null && !(events.weights[i]! >= 0 && Number.isFinite(events.weights[i]!))) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.weights[${i}] = ${events.weights[i]} must be finite and ≥ 0 (it is e^{b_i}).`);
    }
    for (let g = 0; g < G; g++) {
      const z = events.codes[i * G + g]!;
      if (z < 0 || z >= layout.codebookSizes[g]!) {
        throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.codes[${i * G + g}] (event ${i}, group ${g}) = ${z} is outside [0, ${layout.codebookSizes[g]}).`);
      }
    }
  }
  for (let i = 0; i < events.values.length; i++) {
    if (!Number.isFinite(events.values[i]!)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.values[${i}] (event ${Math.floor(i / width)}) is not finite.`);
    }
  }
}

function checkKernel(where: string, cache: UserCache, kernel: CacheKernel): void {
  if (kernel == null || typeof kernel.historyFactorsBatch !== 'function' || typeof kernel.reanchorScale !== 'function') {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: kernel must implement historyFactorsBatch and reanchorScale (a SeparableKernel).`);
  }
  if (kernel.rank !== cache.layout.kernelRank) {
    throw new VqlCacheStoreError('LAYOUT_MISMATCH', `${where}: kernel rank ${kernel.rank} differs from the cache's kernelRank ${cache.layout.kernelRank}.`);
  }
}

/** What to do with an event newer than the anchor t0. */
export type FutureEventPolicy = 'reanchor' | 'refuse';

export interface AppendOptions {
  /**
   * `'reanchor'` (default) first moves t0 to the newest event (exact, O(cache size));
   * `'refuse'` throws `EVENT_AFTER_ANCHOR`. Events older than the newest one already cached are
   * always accepted: the sums do not depend on arrival order.
   */
  futureEvents?: FutureEventPolicy;
}

/**
 * Adds encoded behaviours to `cache` in place: O(F·H_g·d_h) per event and group, independent of
 * the history length. Returns `cache`.
 */
export function appendEncoded(cache: UserCache, events: EncodedEvents, kernel: CacheKernel, options: AppendOptions = {}): UserCache {
  const where = 'appendEncoded';
  checkKernel(where, cache, kernel);
  checkEncoded(where, cache.layout, events);
  const n = events.count;
  if (n === 0) return cache;
  let newest = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) newest = Math.max(newest, events.times[i]!);
  if (newest > cache.anchor) {
    if ((options.futureEvents ?? 'reanchor') === 'refuse') {
      throw new VqlCacheStoreError(
        'EVENT_AFTER_ANCHOR',
        `${where}: an event at time ${newest} is after the cache anchor t0 = ${cache.anchor}; reanchor first or pass { futureEvents: 'reanchor' }.`,
      );
    }
    reanchor(cache, newest, kernel);
  }
  const { layout } = cache;
  const G = layout.headsPerGroup.length;
  const F = layout.kernelRank;
  const dh = layout.headDim;
  const H = totalHeads(layout);
  const offsets = headOffsets(layout);
  const psi = kernel.historyFactorsBatch(events.times, cache.anchor); // [n*F]
  const wf = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    const w = events.weights === null ? 1 : events.weights[i]!;
    for (let f = 0; f < F; f++) wf[f] = w * psi[i * F + f]!;
    for (let g = 0; g < G; g++) {
      const group = cache.groups[g]!;
      const slot = group.slot(events.codes[i * G + g]!);
      const nOff = slot * F;
      for (let f = 0; f < F; f++) group.n[nOff + f]! += wf[f]!;
      const Hg = group.heads;
      const sBase = slot * group.slotWidth;
      for (let h = 0; h < Hg; h++) {
        const vOff = (i * H + offsets[g]! + h) * dh;
        for (let f = 0; f < F; f++) {
          const c = wf[f]!;
          if (c === 0) continue;
          const sOff = sBase + (h * F + f) * dh;
          for (let k = 0; k < dh; k++) group.s[sOff + k]! += c * events.values[vOff + k]!;
        }
      }
    }
    cache.lastEventTime = Math.max(cache.lastEventTime, events.times[i]!);
  }
  cache.eventCount += n;
  return cache;
}

/** Builds a cache from encoded behaviours; t0 defaults to the newest event time (0 when empty). */
export function buildFromEncoded(
  fingerprint: string,
  layout: CacheLayout,
  events: EncodedEvents,
  kernel: CacheKernel,
  options: { anchor?: number } = {},
): UserCache {
  const checked = checkLayout('buildFromEncoded', layout);
  checkEncoded('buildFromEncoded', checked, events);
  let anchor = options.anchor;
  if (anchor === undefined) {
    anchor = 0;
    if (events.count > 0) {
      anchor = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < events.count; i++) anchor = Math.max(anchor, events.times[i]!);
    }
  }
  const cache = new UserCache(fingerprint, checked, anchor);
  return appendEncoded(cache, events, kernel, { futureEvents: 'refuse' });
}

/**
 * Moves the anchor to `t0New` in place: every stored sum of basis f is scaled by
 * `kernel.reanchorScale(t0, t0New)[f]`. Moving it before the newest event is refused (history
 * factors would exceed 1 and may overflow).
 */
export function reanchor(cache: UserCache, t0New: number, kernel: CacheKernel): UserCache {
  const where = 'reanchor';
  checkKernel(where, cache, kernel);
  if (!Number.isFinite(t0New)) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: t0New must be finite, got ${t0New}.`);
  if (t0New < cache.lastEventTime) {
    throw new VqlCacheStoreError(
      'INVALID_ANCHOR',
      `${where}: t0New = ${t0New} is before the newest cached event (${cache.lastEventTime}); the anchor must stay at or after every event.`,
    );
  }
  if (t0New === cache.anchor) return cache;
  if (cache.eventCount > 0) {
    const scale = kernel.reanchorScale(cache.anchor, t0New);
    const F = cache.layout.kernelRank;
    for (const group of cache.groups) {
      const dh = group.headDim;
      for (let slot = 0; slot < group.size; slot++) {
        for (let f = 0; f < F; f++) group.n[slot * F + f]! *= scale[f]!;
        for (let h = 0; h < group.heads; h++) {
          for (let f = 0; f < F; f++) {
            const off = slot * group.slotWidth + (h * F + f) * dh;
            const c = scale[f]!;
            for (let k = 0; k < dh; k++) group.s[off + k]! *= c;
          }
        }
      }
    }
  }
  cache.anchor = t0New;
  return cache;
}

/**
 * Sums caches of disjoint event sets of one user (sharded builds) into a new cache anchored at
 * the latest anchor. All parts must share fingerprint and layout; inputs are not modified.
 */
export function mergeCaches(caches: readonly UserCache[], kernel: CacheKernel): UserCache {
  const where = 'mergeCaches';
  if (!Array.isArray(caches) || caches.length === 0) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: caches must be a non-empty array.`);
  }
  const first = caches[0]!;
  caches.forEach((c, i) => checkCacheFor(`${where}: caches[${i}]`, c, first.fingerprint, first.layout));
  let anchor = Number.NEGATIVE_INFINITY;
  for (const c of caches) anchor = Math.max(anchor, c.anchor);
  const out = new UserCache(first.fingerprint, first.layout, anchor);
  for (const part of caches) {
    const c = part.anchor === anchor ? part : reanchor(part.clone(), anchor, kernel);
    for (let g = 0; g < c.groups.length; g++) {
      const src = c.groups[g]!;
      const dst = out.groups[g]!;
      const F = src.rank;
      const w = src.slotWidth;
      for (let slot = 0; slot < src.size; slot++) {
        const d = dst.slot(src.codes[slot]!);
        for (let f = 0; f < F; f++) dst.n[d * F + f]! += src.n[slot * F + f]!;
        for (let k = 0; k < w; k++) dst.s[d * w + k]! += src.s[slot * w + k]!;
      }
    }
    out.eventCount += c.eventCount;
    out.lastEventTime = Math.max(out.lastEventTime, c.lastEventTime);
  }
  return out;
}
