import type { SeparableKernel } from '@vql/temporal-kernel';
import { checkKnownKeys } from '@vql/runtime';
import { VqlCacheStoreError, CacheFingerprintMismatchError } from './errors.js';
import { AppliedIds, checkEventId, checkIdWindow } from './event-ids.js';
import type { EventId } from './event-ids.js';
import { checkLayout, describeLayout, headOffsets, sameLayout, totalHeads } from './layout.js';
import type { CacheLayout } from './layout.js';
import { checkTimes, resolveTimeBounds } from './time-bounds.js';
import type { ResolvedTimeBounds, TimeBounds } from './time-bounds.js';

/**
 * Version of the cache math and binary layout; bumped whenever old blobs would be misread.
 * 2: applied event ids (duplicate detection). Version-1 blobs are still read (no ids).
 */
export const CACHE_FORMAT_VERSION = 2;

/**
 * The part of a `SeparableKernel` (@vql/temporal-kernel, where the contract lives) the cache needs:
 * κ(tq − ti) = Σ_f queryFactors(tq, t0)_f · historyFactors(ti, t0)_f.
 */
export type CacheKernel = Pick<SeparableKernel, 'rank' | 'queryFactors' | 'scaledQueryFactors' | 'historyFactorsBatch' | 'reanchorScale'>;

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
  /**
   * One id per event (see `EventId`), or absent / null: such events are always applied. An event
   * whose id the cache has already applied is skipped and reported (retries are no-ops).
   */
  readonly ids?: readonly EventId[] | null; // [n]
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
    /** Ids of the most recently applied events, for duplicate detection. */
    readonly ids: AppliedIds = new AppliedIds(),
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
    return new UserCache(this.fingerprint, this.layout, this.anchor, this.eventCount, this.lastEventTime, this.groups.map((g) => g.clone()), this.ids.clone());
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

/** `events.times[i]` plus its id, for messages. */
function eventLabel(events: EncodedEvents, i: number): string {
  const id = events.ids?.[i];
  return `events.times[${i}] (event ${i}${id === undefined ? '' : `, id ${JSON.stringify(id)}`})`;
}

function checkEncoded(where: string, layout: CacheLayout, events: EncodedEvents, bounds: ResolvedTimeBounds): void {
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
  if (events.ids != null) {
    if (!Array.isArray(events.ids)) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: events.ids must be an array of event ids (or null).`);
    expect('ids', events.ids, n);
    for (let i = 0; i < n; i++) checkEventId(`${where}: events.ids[${i}]`, events.ids[i]);
  }
  checkTimes(where, events.times, bounds, (i) => eventLabel(events, i));
  for (let i = 0; i < n; i++) {
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
  /** Accepted event times (default: 1990 to 300 s past the server clock). */
  timeBounds?: TimeBounds;
  /** Applied ids the cache keeps for duplicate detection (`DEFAULT_ID_WINDOW` = 256 for a new cache; else the cache's own). */
  idWindow?: number;
}

const APPEND_KEYS = ['futureEvents', 'timeBounds', 'idWindow'] as const;

/** What an append did: a retried or redelivered event is skipped, never counted twice. */
export interface AppendResult {
  /** The cache after the append (the same object for in-place appends). */
  readonly cache: UserCache;
  /** Events added to the sums. */
  readonly applied: number;
  /** Ids skipped because the cache had already applied them (or they repeat within this batch). */
  readonly duplicates: EventId[];
  /** Numeric ids skipped because they are at or below the ids that left the window (`AppliedIds.floor`). */
  readonly stale: EventId[];
}

export function checkAppendOptions(where: string, options: AppendOptions | undefined): { bounds: ResolvedTimeBounds; policy: FutureEventPolicy; idWindow: number | undefined } {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options must be an object.`);
  }
  checkKnownKeys(`${where}: options`, options, APPEND_KEYS, (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  const policy = options?.futureEvents ?? 'reanchor';
  if (policy !== 'reanchor' && policy !== 'refuse') {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.futureEvents must be 'reanchor' or 'refuse', got ${JSON.stringify(policy)}.`);
  }
  const idWindow = options?.idWindow === undefined ? undefined : checkIdWindow(`${where}: options.idWindow`, options.idWindow);
  return { bounds: resolveTimeBounds(where, options?.timeBounds), policy, idWindow };
}

/**
 * Adds encoded behaviours to `cache` in place: O(F·H_g·d_h) per event and group, independent of
 * the history length. Events whose id the cache has already applied are skipped and reported.
 * Every check (times, ids, codes, values) runs before the cache is touched.
 */
export function appendEncoded(cache: UserCache, events: EncodedEvents, kernel: CacheKernel, options?: AppendOptions): AppendResult {
  const where = 'appendEncoded';
  const { bounds, policy, idWindow } = checkAppendOptions(where, options);
  checkKernel(where, cache, kernel);
  checkEncoded(where, cache.layout, events, bounds);
  const n = events.count;
  const duplicates: EventId[] = [];
  const stale: EventId[] = [];
  // Which events to apply: ids already applied (or repeated within this batch) are skipped.
  let take: number[] | null = null;
  if (events.ids != null) {
    take = [];
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const id = events.ids[i]!;
      const key = typeof id === 'number' ? `n${id}` : `s${id}`;
      const status = seen.has(key) ? 'duplicate' : cache.ids.status(id);
      if (status === 'new') {
        take.push(i);
        seen.add(key);
      } else (status === 'duplicate' ? duplicates : stale).push(id);
    }
  }
  const count = take === null ? n : take.length;
  if (count === 0) return { cache, applied: 0, duplicates, stale };
  const at = (j: number): number => (take === null ? j : take[j]!);
  let newest = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < count; j++) newest = Math.max(newest, events.times[at(j)]!);
  if (newest > cache.anchor) {
    if (policy === 'refuse') {
      throw new VqlCacheStoreError(
        'EVENT_AFTER_ANCHOR',
        `${where}: an event at time ${newest} is after the cache anchor t0 = ${cache.anchor}; reanchor first or pass { futureEvents: 'reanchor' }.`,
      );
    }
    reanchor(cache, newest, kernel);
  }
  if (idWindow !== undefined) cache.ids.resize(idWindow);
  const { layout } = cache;
  const G = layout.headsPerGroup.length;
  const F = layout.kernelRank;
  const dh = layout.headDim;
  const H = totalHeads(layout);
  const offsets = headOffsets(layout);
  const times = take === null ? events.times : Float64Array.from(take, (i) => events.times[i]!);
  const psi = kernel.historyFactorsBatch(times, cache.anchor); // [count*F]
  const wf = new Float64Array(F);
  for (let j = 0; j < count; j++) {
    const i = at(j);
    const w = events.weights === null ? 1 : events.weights[i]!;
    for (let f = 0; f < F; f++) wf[f] = w * psi[j * F + f]!;
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
    if (events.ids != null) cache.ids.add(events.ids[i]!);
  }
  cache.eventCount += count;
  return { cache, applied: count, duplicates, stale };
}

export interface BuildOptions {
  /** t0; default the newest event time (0 when empty). Must be ≥ every event and within the time bounds. */
  anchor?: number;
  timeBounds?: TimeBounds;
  idWindow?: number;
}

const BUILD_KEYS = ['anchor', 'timeBounds', 'idWindow'] as const;

/**
 * Builds a cache from encoded behaviours (a repeated id within them is applied once); t0
 * defaults to the newest event time (0 when empty).
 */
export function buildFromEncoded(fingerprint: string, layout: CacheLayout, events: EncodedEvents, kernel: CacheKernel, options: BuildOptions = {}): UserCache {
  const where = 'buildFromEncoded';
  checkKnownKeys(`${where}: options`, options, BUILD_KEYS, (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  const checked = checkLayout(where, layout);
  const bounds = resolveTimeBounds(where, options.timeBounds);
  checkEncoded(where, checked, events, bounds);
  let anchor = options.anchor;
  if (anchor !== undefined) checkTimes(where, [anchor], bounds, () => 'options.anchor');
  if (anchor === undefined) {
    anchor = 0;
    if (events.count > 0) {
      anchor = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < events.count; i++) anchor = Math.max(anchor, events.times[i]!);
    }
  }
  const cache = new UserCache(fingerprint, checked, anchor, 0, Number.NEGATIVE_INFINITY, undefined, new AppliedIds());
  return appendEncoded(cache, events, kernel, {
    futureEvents: 'refuse',
    ...(options.timeBounds === undefined ? {} : { timeBounds: options.timeBounds }),
    ...(options.idWindow === undefined ? {} : { idWindow: options.idWindow }),
  }).cache;
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
  // Ids of all parts, in part order; an id in two parts means the parts were not disjoint.
  const window = Math.max(...caches.map((c) => c.ids.window));
  const seen = new Map<string, number>();
  const ids: EventId[] = [];
  caches.forEach((c, i) => {
    for (const id of c.ids.list()) {
      const key = typeof id === 'number' ? `n${id}` : `s${id}`;
      const other = seen.get(key);
      if (other !== undefined) {
        throw new VqlCacheStoreError('OVERLAPPING_CACHES', `${where}: event id ${JSON.stringify(id)} was applied to both caches[${other}] and caches[${i}]; merged parts must hold disjoint events.`);
      }
      seen.set(key, i);
      ids.push(id);
    }
  });
  const applied = AppliedIds.from(Math.max(window, ids.length), Math.max(...caches.map((c) => c.ids.floor)), ids);
  applied.resize(window);
  const out = new UserCache(first.fingerprint, first.layout, anchor, 0, Number.NEGATIVE_INFINITY, undefined, applied);
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
