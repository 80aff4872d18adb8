import { VqlCacheStoreError } from './errors.js';

/**
 * A caller-supplied event identity: a non-negative safe integer (sequence number, log offset —
 * must increase over one user's events) or a string of 1–255 UTF-8 bytes (any unique id).
 */
export type EventId = string | number;

/** Ids a cache remembers for duplicate detection, by default. */
export const DEFAULT_ID_WINDOW = 256;
export const MAX_ID_WINDOW = 65536;
const MAX_ID_BYTES = 255;

export function checkEventId(where: string, id: unknown): EventId {
  if (typeof id === 'number') {
    if (Number.isSafeInteger(id) && id >= 0) return id;
  } else if (typeof id === 'string') {
    const bytes = Buffer.byteLength(id);
    // Well-formed only: a lone surrogate would not survive the UTF-8 round trip through a blob.
    if (bytes >= 1 && bytes <= MAX_ID_BYTES && Buffer.from(id, 'utf8').toString('utf8') === id) return id;
  }
  throw new VqlCacheStoreError(
    'INVALID_ARGUMENT',
    `${where} must be a non-negative safe integer or a string of 1-${MAX_ID_BYTES} UTF-8 bytes (well-formed Unicode), got ${typeof id === 'string' ? `a string of ${Buffer.byteLength(id)} bytes` : JSON.stringify(id) ?? String(id)}.`,
  );
}

export function checkIdWindow(where: string, window: unknown): number {
  if (typeof window !== 'number' || !Number.isInteger(window) || window < 0 || window > MAX_ID_WINDOW) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where} must be an integer in [0, ${MAX_ID_WINDOW}], got ${String(window)}.`);
  }
  return window;
}

/** 5 and '5' are different ids. */
const keyOf = (id: EventId): string => (typeof id === 'number' ? `n${id}` : `s${id}`);

/**
 * The ids of the last `window` applied events (exact membership), plus `floor`: the largest
 * numeric id that has left that window. An id is a duplicate when it is in the window; a numeric
 * id at or below `floor` is stale (applied long ago, or too old to tell: refused either way).
 * A string id applied more than `window` events ago is not recognised again.
 */
export class AppliedIds {
  private ring: EventId[] = [];
  private readonly keys = new Set<string>();
  /** Largest numeric id evicted from the window; −1 when none. */
  floor = -1;

  constructor(public window = DEFAULT_ID_WINDOW) {}

  get size(): number {
    return this.ring.length;
  }

  /** Ids in the window, oldest first. */
  list(): readonly EventId[] {
    return this.ring;
  }

  status(id: EventId): 'new' | 'duplicate' | 'stale' {
    if (this.keys.has(keyOf(id))) return 'duplicate';
    if (typeof id === 'number' && id <= this.floor) return 'stale';
    return 'new';
  }

  add(id: EventId): void {
    this.ring.push(id);
    this.keys.add(keyOf(id));
    this.trim();
  }

  /** Shrinks or grows the window; evicted numeric ids raise the floor. */
  resize(window: number): void {
    this.window = window;
    this.trim();
  }

  private trim(): void {
    if (this.ring.length <= this.window) return;
    const drop = this.ring.length - this.window;
    for (let i = 0; i < drop; i++) {
      const id = this.ring[i]!;
      this.keys.delete(keyOf(id));
      if (typeof id === 'number' && id > this.floor) this.floor = id;
    }
    this.ring = this.ring.slice(drop);
  }

  clone(): AppliedIds {
    const c = new AppliedIds(this.window);
    for (const id of this.ring) c.add(id);
    c.floor = this.floor;
    return c;
  }

  /** Restores a decoded state (ids oldest first). */
  static from(window: number, floor: number, ids: readonly EventId[]): AppliedIds {
    const c = new AppliedIds(Math.max(window, ids.length));
    for (const id of ids) c.add(id);
    c.window = window;
    c.floor = floor;
    return c;
  }
}
