import type { AppendResult, UserHistory } from '@vql/cache-store';
import { VqlServingError } from './errors.js';
import type { ServedModel } from './served-model.js';

/** What one append did, and for which model version. */
export interface IngestResult extends Pick<AppendResult, 'applied' | 'duplicates' | 'stale'> {
  readonly model: string;
}

interface Staging {
  /** Undefined while the next version is still loading (events are queued from the start). */
  next: ServedModel | undefined;
  /** Events that arrived while the next version's caches were being built: replayed after. */
  readonly pending: Array<{ user: string; history: UserHistory }>;
  building: boolean;
}

/**
 * The model versions of one service: the active one (every request is scored wholly by the
 * version it acquired) and at most one being staged. Staging builds the next version's caches
 * beside the active ones while the active version keeps serving and ingesting; events that
 * arrive meanwhile are queued and replayed into the new caches (idempotent by id) once the
 * build is complete; only then does `active` change, in one assignment.
 */
export class ModelLifecycle {
  private current: ServedModel | undefined;
  private staging: Staging | undefined;
  private readonly listeners: Array<(m: ServedModel) => void> = [];

  constructor(initial?: ServedModel) {
    this.current = initial;
  }

  get active(): ServedModel | undefined {
    return this.current;
  }

  get stagingVersion(): string | undefined {
    return this.staging?.next?.version;
  }

  onFlip(listener: (m: ServedModel) => void): void {
    this.listeners.push(listener);
  }

  /** The active version, held until `release()`; refused when none is loaded. */
  acquire(): ServedModel {
    if (this.current === undefined) throw new VqlServingError('MODEL_NOT_READY', 'No model is loaded yet.');
    return this.current.acquire();
  }

  /**
   * Appends one user's behaviours to the active version (and, while one is staged, to the
   * next: queued during its build, direct after). Idempotent by event id in every store.
   */
  async append(user: string, history: UserHistory): Promise<IngestResult> {
    const m = this.acquire();
    try {
      const staging = this.staging;
      const result = await m.store.append(user, m.cacheModel.encodeEvents(history), m.cacheModel);
      if (staging !== undefined) {
        if (staging.building || staging.next === undefined) staging.pending.push({ user, history });
        else await staging.next.store.append(user, staging.next.cacheModel.encodeEvents(history), staging.next.cacheModel);
      }
      return { model: m.version, applied: result.applied, duplicates: result.duplicates, stale: result.stale };
    } finally {
      m.release();
    }
  }

  /**
   * Serves the version `load()` returns once `build(next)` has written its caches: the active
   * version serves (and ingests) throughout — events from the moment staging starts are queued and
   * replayed into the new caches — then one assignment flips to `next` and the old version is
   * retired (closed when its in-flight requests finish). A failed load or build leaves the active
   * version untouched. The build's source (an event table) must hold every event up to the start.
   */
  async stage(load: () => Promise<ServedModel>, build: (next: ServedModel) => Promise<void>): Promise<ServedModel> {
    if (this.staging !== undefined) {
      throw new VqlServingError('MODEL_STAGING', `Model ${this.staging.next?.version.slice(0, 16) ?? '(loading)'} is already being staged; wait for it to finish.`);
    }
    const staging: Staging = { next: undefined, pending: [], building: true };
    this.staging = staging;
    let next: ServedModel | undefined;
    try {
      next = await load();
      if (next.version === this.current?.version) {
        this.staging = undefined;
        await next.close();
        return this.current;
      }
      staging.next = next;
      await build(next);
      // Replay what arrived meanwhile; appends arriving from now on go straight to `next`.
      staging.building = false;
      while (staging.pending.length > 0) {
        const { user, history } = staging.pending.shift()!;
        await next.store.append(user, next.cacheModel.encodeEvents(history), next.cacheModel);
      }
    } catch (error) {
      this.staging = undefined;
      await next?.close();
      throw error;
    }
    const old = this.current;
    this.current = next; // the flip
    this.staging = undefined;
    for (const l of this.listeners) l(next);
    await old?.retire();
    return next;
  }

  async close(): Promise<void> {
    await this.staging?.next?.close();
    await this.current?.retire();
    this.current = undefined;
  }
}
