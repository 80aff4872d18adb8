import { checkKnownKeys } from '@vql/runtime';
import { crc32 } from './crc32.js';
import { CorruptCacheError, VqlCacheStoreError } from './errors.js';
import { fromHalf, toHalf } from './float16.js';
import { AppliedIds, MAX_ID_WINDOW } from './event-ids.js';
import type { EventId } from './event-ids.js';
import { checkLayout } from './layout.js';
import type { CacheLayout } from './layout.js';
import { CACHE_FORMAT_VERSION, CacheGroup, UserCache } from './user-cache.js';

/**
 * Binary cache blob, little-endian:
 *   'VQLC' | u16 formatVersion | u8 precision (1 = f32, 2 = f16) | u8 fpLen | fingerprint (ASCII)
 *   | u16 G | u16 d_h | u16 F | u16 0 | G × (u16 H_g, u32 K_g) | f64 t0 | f64 lastEventTime
 *   | f64 eventCount | G × u32 m_g | per group: m_g × i32 codes (ascending), then per code
 *     f32: N[F] S[H_g·F·d_h]; f16: F × f32 scale, then N[F] S[H_g·F·d_h] as halves of value/scale_f
 *   | (version ≥ 2) applied ids: u32 window | f64 floor | u32 count | count × (u8 1, f64 number
 *     | u8 2, u8 byteLength, UTF-8 string), oldest first
 *   | u32 CRC-32 of everything before it.
 * Codes are sorted so the same sums always give the same bytes. Version 1 (no ids) is read as a
 * cache that has applied no ids; writes are always the current version.
 */
const READABLE_VERSIONS = [1, CACHE_FORMAT_VERSION];
export type CachePrecision = 'float32' | 'float16';

const MAGIC = [0x56, 0x51, 0x4c, 0x43]; // 'VQLC'
const PRECISION_CODE: Record<CachePrecision, number> = { float32: 1, float16: 2 };

export interface EncodeOptions {
  /** `'float32'` (default, ~1e-7 relative error) or `'float16'` (half the bytes, ~1e-3 relative to each code's largest entry per basis). */
  precision?: CachePrecision;
}

/** Header fields, readable without decoding (or checksumming) the body: used by scans. */
export interface CacheHeader {
  formatVersion: number;
  precision: CachePrecision;
  fingerprint: string;
}

function sortedSlots(group: CacheGroup): number[] {
  const slots = Array.from({ length: group.size }, (_, i) => i);
  return slots.sort((a, b) => group.codes[a]! - group.codes[b]!);
}

/** Encodes `cache` to a self-checking blob. Throws `NON_FINITE_CACHE` rather than storing Inf/NaN. */
export function encodeCache(cache: UserCache, options: EncodeOptions = {}): Uint8Array {
  checkKnownKeys('encodeCache: options', options, ['precision'], (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  const precision = options.precision ?? 'float32';
  if (!(precision in PRECISION_CODE)) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `encodeCache: options.precision must be 'float32' or 'float16', got ${JSON.stringify(precision)}.`);
  }
  if (!(cache instanceof UserCache)) throw new VqlCacheStoreError('INVALID_ARGUMENT', 'encodeCache: cache must be a UserCache.');
  const { layout } = cache;
  const G = layout.headsPerGroup.length;
  const F = layout.kernelRank;
  const dh = layout.headDim;
  const fp = Buffer.from(cache.fingerprint, 'ascii');
  const headerLen = 8 + fp.length + 8 + G * 6 + 24 + G * 4;
  let bodyLen = 0;
  for (const group of cache.groups) {
    const floats = F + group.slotWidth;
    bodyLen += group.size * (4 + (precision === 'float32' ? floats * 4 : F * 4 + floats * 2));
  }
  const ids = cache.ids.list();
  const idStrings = ids.map((id) => (typeof id === 'string' ? Buffer.from(id, 'utf8') : null));
  bodyLen += 16;
  for (const b of idStrings) bodyLen += b === null ? 9 : 2 + b.length;
  const bytes = new Uint8Array(headerLen + bodyLen + 4);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint16(4, CACHE_FORMAT_VERSION, true);
  view.setUint8(6, PRECISION_CODE[precision]);
  view.setUint8(7, fp.length);
  bytes.set(fp, 8);
  let o = 8 + fp.length;
  view.setUint16(o, G, true);
  view.setUint16(o + 2, dh, true);
  view.setUint16(o + 4, F, true);
  view.setUint16(o + 6, 0, true);
  o += 8;
  for (let g = 0; g < G; g++) {
    view.setUint16(o, layout.headsPerGroup[g]!, true);
    view.setUint32(o + 2, layout.codebookSizes[g]!, true);
    o += 6;
  }
  view.setFloat64(o, cache.anchor, true);
  view.setFloat64(o + 8, cache.lastEventTime, true);
  view.setFloat64(o + 16, cache.eventCount, true);
  o += 24;
  for (const group of cache.groups) {
    view.setUint32(o, group.size, true);
    o += 4;
  }
  const checkFinite = (v: number, g: number, code: number): number => {
    if (!Number.isFinite(v) || (precision === 'float32' && Math.abs(v) > 3.4e38)) {
      throw new VqlCacheStoreError('NON_FINITE_CACHE', `encodeCache: group ${g}, code ${code} holds ${v}, which ${precision} cannot store; the cache would score garbage.`);
    }
    return v;
  };
  cache.groups.forEach((group, g) => {
    const slots = sortedSlots(group);
    for (const slot of slots) {
      view.setInt32(o, group.codes[slot]!, true);
      o += 4;
    }
    const w = group.slotWidth;
    for (const slot of slots) {
      const code = group.codes[slot]!;
      if (precision === 'float32') {
        for (let f = 0; f < F; f++, o += 4) view.setFloat32(o, checkFinite(group.n[slot * F + f]!, g, code), true);
        for (let k = 0; k < w; k++, o += 4) view.setFloat32(o, checkFinite(group.s[slot * w + k]!, g, code), true);
      } else {
        // One scale per basis f: bases decay at very different rates, so a shared scale would
        // flush the fast ones to zero.
        const scale = new Float64Array(F);
        for (let f = 0; f < F; f++) scale[f] = Math.abs(checkFinite(group.n[slot * F + f]!, g, code));
        for (let k = 0; k < w; k++) {
          const f = Math.floor(k / dh) % F;
          scale[f] = Math.max(scale[f]!, Math.abs(checkFinite(group.s[slot * w + k]!, g, code)));
        }
        for (let f = 0; f < F; f++, o += 4) {
          view.setFloat32(o, scale[f]!, true);
          scale[f] = Math.fround(scale[f]!);
        }
        const inv = scale.map((s) => (s > 0 ? 1 / s : 0));
        for (let f = 0; f < F; f++, o += 2) view.setUint16(o, toHalf(group.n[slot * F + f]! * inv[f]!), true);
        for (let k = 0; k < w; k++, o += 2) view.setUint16(o, toHalf(group.s[slot * w + k]! * inv[Math.floor(k / dh) % F]!), true);
      }
    }
  });
  view.setUint32(o, cache.ids.window, true);
  view.setFloat64(o + 4, cache.ids.floor, true);
  view.setUint32(o + 12, ids.length, true);
  o += 16;
  ids.forEach((id, i) => {
    const str = idStrings[i]!;
    if (str === null) {
      view.setUint8(o, 1);
      view.setFloat64(o + 1, id as number, true);
      o += 9;
    } else {
      view.setUint8(o, 2);
      view.setUint8(o + 1, str.length);
      bytes.set(str, o + 2);
      o += 2 + str.length;
    }
  });
  view.setUint32(o, crc32(bytes.subarray(0, o)), true);
  return bytes;
}

function asBytes(where: string, blob: Uint8Array): Uint8Array {
  if (!(blob instanceof Uint8Array)) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: blob must be a Uint8Array or Buffer, got ${blob === null ? 'null' : typeof blob}.`);
  }
  return blob;
}

/** Reads magic, version, precision and fingerprint; throws `CorruptCacheError` on a foreign or short blob. */
export function readCacheHeader(blob: Uint8Array, label = 'blob'): CacheHeader {
  const bytes = asBytes('readCacheHeader', blob);
  if (bytes.length < 12 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new CorruptCacheError(`${label}: not a VQL cache (${bytes.length} bytes, missing 'VQLC' magic).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const formatVersion = view.getUint16(4, true);
  const p = view.getUint8(6);
  const precision = (Object.keys(PRECISION_CODE) as CachePrecision[]).find((k) => PRECISION_CODE[k] === p);
  if (precision === undefined) throw new CorruptCacheError(`${label}: unknown precision code ${p}.`);
  const fpLen = view.getUint8(7);
  if (bytes.length < 8 + fpLen) throw new CorruptCacheError(`${label}: truncated inside the fingerprint (${bytes.length} bytes).`);
  const fingerprint = Buffer.from(bytes.buffer, bytes.byteOffset + 8, fpLen).toString('ascii');
  return { formatVersion, precision, fingerprint };
}

/**
 * Decodes a blob from `encodeCache`. Checks magic, CRC-32, format version and length before
 * reading any number: a damaged blob (any byte, the version's included) is a `CorruptCacheError`,
 * never garbage scores; an intact blob of an unknown version is `FORMAT_VERSION_MISMATCH`.
 */
export function decodeCache(blob: Uint8Array, label = 'blob'): UserCache {
  const bytes = asBytes('decodeCache', blob);
  const header = readCacheHeader(bytes, label);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new CorruptCacheError(`${label}: truncated or corrupt (${what}; ${bytes.length} bytes).`);
  };
  if (bytes.length < 4) fail('no checksum');
  const stored = view.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) {
    throw new CorruptCacheError(`${label}: checksum mismatch (${bytes.length} bytes): the blob is truncated or damaged.`);
  }
  if (!READABLE_VERSIONS.includes(header.formatVersion)) {
    throw new VqlCacheStoreError(
      'FORMAT_VERSION_MISMATCH',
      `${label}: cache format version ${header.formatVersion}, this build reads versions ${READABLE_VERSIONS.join(' and ')}; rebuild the cache.`,
    );
  }
  const withIds = header.formatVersion >= 2;
  let o = 8 + header.fingerprint.length;
  if (bytes.length < o + 8) fail('header');
  const G = view.getUint16(o, true);
  const dh = view.getUint16(o + 2, true);
  const F = view.getUint16(o + 4, true);
  o += 8;
  if (bytes.length < o + G * 10 + 24 + 4) fail('group table');
  const headsPerGroup: number[] = [];
  const codebookSizes: number[] = [];
  for (let g = 0; g < G; g++, o += 6) {
    headsPerGroup.push(view.getUint16(o, true));
    codebookSizes.push(view.getUint32(o + 2, true));
  }
  let layout: CacheLayout;
  try {
    layout = checkLayout(label, { headsPerGroup, codebookSizes, headDim: dh, kernelRank: F });
  } catch (error) {
    throw new CorruptCacheError(`${label}: invalid layout in header: ${(error as Error).message}`);
  }
  const anchor = view.getFloat64(o, true);
  const lastEventTime = view.getFloat64(o + 8, true);
  const eventCount = view.getFloat64(o + 16, true);
  o += 24;
  if (!Number.isFinite(anchor) || !Number.isInteger(eventCount) || eventCount < 0) fail('anchor or event count');
  const sizes: number[] = [];
  for (let g = 0; g < G; g++, o += 4) sizes.push(view.getUint32(o, true));
  const half = header.precision === 'float16';
  let expected = o + 4;
  sizes.forEach((m, g) => {
    const floats = F + headsPerGroup[g]! * F * dh;
    expected += m * (4 + (half ? F * 4 + floats * 2 : floats * 4));
  });
  if (withIds ? expected + 16 > bytes.length : expected !== bytes.length) fail(`expected ${withIds ? 'at least ' : ''}${expected + (withIds ? 16 : 0)} bytes from the header`);
  const groups = sizes.map((m, g) => {
    const group = new CacheGroup(headsPerGroup[g]!, F, dh, Math.max(4, m));
    let prev = -1;
    for (let i = 0; i < m; i++, o += 4) {
      const code = view.getInt32(o, true);
      if (code <= prev || code >= codebookSizes[g]!) fail(`group ${g} code list is not ascending within [0, ${codebookSizes[g]})`);
      prev = code;
      group.slot(code);
    }
    const w = group.slotWidth;
    const scale = new Float64Array(F);
    for (let slot = 0; slot < m; slot++) {
      if (!half) {
        for (let f = 0; f < F; f++, o += 4) group.n[slot * F + f] = view.getFloat32(o, true);
        for (let k = 0; k < w; k++, o += 4) group.s[slot * w + k] = view.getFloat32(o, true);
      } else {
        for (let f = 0; f < F; f++, o += 4) scale[f] = view.getFloat32(o, true);
        for (let f = 0; f < F; f++, o += 2) group.n[slot * F + f] = fromHalf(view.getUint16(o, true)) * scale[f]!;
        for (let k = 0; k < w; k++, o += 2) group.s[slot * w + k] = fromHalf(view.getUint16(o, true)) * scale[Math.floor(k / dh) % F]!;
      }
    }
    return group;
  });
  let applied = new AppliedIds();
  if (withIds) {
    const window = view.getUint32(o, true);
    const floor = view.getFloat64(o + 4, true);
    const count = view.getUint32(o + 12, true);
    o += 16;
    if (window > MAX_ID_WINDOW || count > window || !(Number.isSafeInteger(floor) && floor >= -1)) fail('id window header');
    const ids: EventId[] = [];
    const end = bytes.length - 4;
    for (let i = 0; i < count; i++) {
      if (o + 1 > end) fail('id list');
      const kind = view.getUint8(o);
      if (kind === 1 && o + 9 <= end) {
        const id = view.getFloat64(o + 1, true);
        if (!(Number.isSafeInteger(id) && id >= 0)) fail(`id ${i} is not a non-negative integer`);
        ids.push(id);
        o += 9;
      } else if (kind === 2 && o + 2 <= end && o + 2 + view.getUint8(o + 1) <= end && view.getUint8(o + 1) > 0) {
        const len = view.getUint8(o + 1);
        ids.push(Buffer.from(bytes.buffer, bytes.byteOffset + o + 2, len).toString('utf8'));
        o += 2 + len;
      } else fail(`id ${i}`);
    }
    if (o !== end) fail(`${end - o} bytes after the id list`);
    applied = AppliedIds.from(window, floor, ids);
  }
  return new UserCache(header.fingerprint, layout, anchor, eventCount, lastEventTime, groups, applied);
}
