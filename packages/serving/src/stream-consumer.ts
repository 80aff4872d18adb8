import { VqlCacheStoreError } from '@vql/cache-store';
import { isVqlError } from '@vql/errors';
import type { UserHistory } from '@vql/cache-store';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { VqlServingError } from './errors.js';
import type { ModelLifecycle } from './lifecycle.js';
import type { ServingMetrics } from './metrics.js';
import { eventColumns } from './request-columns.js';
import type { ServingEvent } from './schemas.js';

export interface StreamConsumerOptions {
  /** Redis holding the stream (`redis://host:port[/db]`). */
  url: string;
  /** Stream key; producers `XADD <stream> * user <id> item <n> time <epoch s> [id <event id>] [context <json>]`. */
  stream: string;
  /** Consumer group (created at the stream's start when missing). Default `'vql-serve'`. */
  group?: string;
  /** This consumer's name; a restarted process with the same name re-reads its own unacknowledged entries first. */
  consumer: string;
  lifecycle: ModelLifecycle;
  metrics?: ServingMetrics;
  logger?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  /** Entries per read. Default 200. */
  batchSize?: number;
  /** How long one read waits for new entries. Default 1000 ms. */
  blockMs?: number;
  /** Entries another consumer left unacknowledged this long are claimed (its process died). Default 30 s. */
  claimIdleMs?: number;
  /** Where entries refused as bad data go (then acknowledged). Default `<stream>:dead`. */
  deadLetterStream?: string;
  /** Pause after a store or Redis failure before retrying the same entries. Default 250 ms. */
  retryDelayMs?: number;
  /** Test hook: runs after the appends of a batch and before its XACK (a crash there must double nothing). */
  beforeAck?: (entryIds: string[]) => void | Promise<void>;
}

type Entry = [id: string, fields: string[]];

/**
 * The event id of a stream entry: its `id` field when the producer gave one (digits → a number,
 * deduplicated forever if increasing per user; else a string, deduplicated within the cache's id
 * window), otherwise derived from the entry id `<ms>-<seq>` as `ms·1000 + seq` — increasing, so
 * a redelivered entry is always recognised.
 */
export function streamEventId(entryId: string, field: string | undefined): number | string {
  if (field !== undefined) return /^\d{1,15}$/.test(field) ? Number(field) : field;
  const [ms, seq] = entryId.split('-').map(Number) as [number, number];
  return seq < 1000 ? ms * 1000 + seq : entryId;
}

/** One entry's fields → a user and an event; throws `VqlServingError` naming the field. */
export function parseStreamEntry(entryId: string, fields: readonly string[]): { user: string; event: ServingEvent } {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const where = `stream entry ${entryId}`;
  const user = f['user'];
  if (user === undefined || user === '') throw new VqlServingError('INVALID_ARGUMENT', `${where}: field "user" is required.`, { field: 'user' });
  const item = Number(f['item']);
  if (!Number.isInteger(item)) throw new VqlServingError('INVALID_ARGUMENT', `${where}: field "item" must be an integer, got ${JSON.stringify(f['item'])}.`, { field: 'item' });
  const time = Number(f['time']);
  if (f['time'] === undefined || !Number.isFinite(time)) throw new VqlServingError('INVALID_ARGUMENT', `${where}: field "time" must be epoch seconds, got ${JSON.stringify(f['time'])}.`, { field: 'time' });
  let context: ServingEvent['context'];
  if (f['context'] !== undefined) {
    try {
      context = JSON.parse(f['context']) as ServingEvent['context'];
    } catch {
      throw new VqlServingError('INVALID_ARGUMENT', `${where}: field "context" must be a JSON object.`, { field: 'context' });
    }
  }
  return { user, event: { id: streamEventId(entryId, f['id']), item, time, ...(context === undefined ? {} : { context }) } };
}

const DATA_ERRORS = ['INVALID_ARGUMENT', 'INVALID_TIME', 'UNKNOWN_FEATURE', 'UNKNOWN_OPTION'] as const;

/** The event's own fault (do not retry it): bad fields, a time outside the bounds. */
function isDataError(error: unknown): boolean {
  return isVqlError(error, DATA_ERRORS);
}

/**
 * A Redis Streams consumer-group reader that appends behaviours to the caches (at least once:
 * XREADGROUP, append, then XACK). Appends are idempotent by event id, so a redelivery — after a
 * crash between append and XACK, a claim from a dead consumer, or a retry after an outage — is
 * skipped, never counted twice. An entry is acknowledged only once its append resolved (or it
 * was dead-lettered as bad data), so nothing acknowledged is ever lost.
 */
export class StreamConsumer {
  private readonly redis: Redis;
  private readonly group: string;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Appended, duplicate and dead-lettered entries since start (for logs and tests). */
  readonly counts = { applied: 0, duplicates: 0, deadLettered: 0, acked: 0, failures: 0 };

  constructor(private readonly options: StreamConsumerOptions) {
    this.group = options.group ?? 'vql-serve';
    // A connection of its own (reads block); commands wait while Redis is down instead of failing fast.
    this.redis = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(50 * n, 1000) });
    this.redis.on('error', () => {}); // reconnects by itself; failures surface on the commands
  }

  /** Creates the group if missing, then consumes until `stop()`. */
  async start(): Promise<void> {
    await this.redis.connect();
    try {
      await this.redis.xgroup('CREATE', this.options.stream, this.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test((error as Error).message)) throw error;
    }
    this.loop = this.run();
  }

  /** Finishes the batch in hand (appended and acknowledged), then closes the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.redis.disconnect();
  }

  private async run(): Promise<void> {
    const o = this.options;
    let own = true; // first our own pending entries (a restart after a crash), then new ones
    let lastClaim = 0;
    while (!this.stopping) {
      try {
        if (Date.now() - lastClaim > (o.claimIdleMs ?? 30_000) / 2) {
          lastClaim = Date.now();
          await this.claimStale();
        }
        const args = ['GROUP', this.group, o.consumer, 'COUNT', o.batchSize ?? 200, ...(own ? [] : ['BLOCK', o.blockMs ?? 1000]), 'STREAMS', o.stream, own ? '0' : '>'];
        const reply = (await this.redis.call('XREADGROUP', ...args)) as Array<[string, Entry[]]> | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (own && entries.length === 0) {
          own = false;
          continue;
        }
        await this.process(entries);
      } catch (error) {
        if (this.stopping) break;
        this.counts.failures++;
        o.logger?.warn({ err: error }, 'stream consumer: will retry the unacknowledged entries');
        own = true; // whatever was read and not acknowledged is re-read from our pending list
        await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 250));
      }
    }
  }

  /** Takes over entries a dead consumer left unacknowledged for `claimIdleMs`. */
  private async claimStale(): Promise<void> {
    const o = this.options;
    let cursor = '0-0';
    do {
      const [next, entries] = (await this.redis.xautoclaim(o.stream, this.group, o.consumer, o.claimIdleMs ?? 30_000, cursor, 'COUNT', o.batchSize ?? 200)) as [string, Entry[]];
      await this.process(entries.filter((e) => e !== null && e[1] !== null));
      cursor = next;
    } while (cursor !== '0-0' && !this.stopping);
  }

  private async process(entries: readonly Entry[]): Promise<void> {
    if (entries.length === 0) return;
    const o = this.options;
    const byUser = new Map<string, { ids: string[]; events: ServingEvent[] }>();
    const dead: Entry[] = [];
    for (const [id, fields] of entries) {
      try {
        const { user, event } = parseStreamEntry(id, fields);
        const u = byUser.get(user) ?? { ids: [], events: [] };
        u.ids.push(id);
        u.events.push(event);
        byUser.set(user, u);
      } catch (error) {
        if (!(error instanceof VqlServingError)) throw error;
        dead.push([id, [...fields, 'error', error.message]]);
      }
    }
    const acks: string[] = [];
    for (const [user, batch] of byUser) {
      try {
        await this.appendUser(user, batch.events);
        acks.push(...batch.ids);
      } catch (error) {
        if (!isDataError(error)) {
          if (error instanceof VqlCacheStoreError) o.metrics?.storeErrors.inc({ op: 'append', code: error.code });
          await this.ack(acks); // what was appended is acknowledged; the rest is read again
          throw error;
        }
        // Bad data in the user's batch (e.g. a time in milliseconds): one by one, so only the bad entries are dead-lettered.
        for (const [k, event] of batch.events.entries()) {
          try {
            if (batch.events.length > 1) await this.appendUser(user, [event]);
            else throw error;
            acks.push(batch.ids[k]!);
          } catch (single) {
            if (!isDataError(single)) {
              await this.ack(acks);
              throw single;
            }
            dead.push([batch.ids[k]!, ['user', user, 'item', String(event.item), 'time', String(event.time), 'error', (single as Error).message]]);
          }
        }
      }
    }
    for (const [id, fields] of dead) {
      await this.redis.xadd(o.deadLetterStream ?? `${o.stream}:dead`, '*', 'entry', id, ...fields);
      acks.push(id);
      this.counts.deadLettered++;
      o.metrics?.eventsDeadLettered.inc();
    }
    await o.beforeAck?.(acks);
    await this.ack(acks);
  }

  private async appendUser(user: string, events: ServingEvent[]): Promise<void> {
    const o = this.options;
    const m = o.lifecycle.acquire();
    let history: UserHistory;
    try {
      history = eventColumns(m.cacheModel.model, events);
    } finally {
      m.release();
    }
    const r = await o.lifecycle.append(user, history);
    this.counts.applied += r.applied;
    this.counts.duplicates += r.duplicates.length + r.stale.length;
    o.metrics?.eventsAppended.inc({ source: 'stream' }, r.applied);
    o.metrics?.eventsDuplicate.inc({ source: 'stream' }, r.duplicates.length + r.stale.length);
  }

  private async ack(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.xack(this.options.stream, this.group, ...ids);
    this.counts.acked += ids.length;
  }
}
