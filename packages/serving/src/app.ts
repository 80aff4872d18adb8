import { CorruptCacheError, VqlCacheStoreError } from '@vql/cache-store';
import type { UserCache } from '@vql/cache-store';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { toHttpError } from './http-errors.js';
import type { ErrorBody } from './http-errors.js';
import type { ModelLifecycle } from './lifecycle.js';
import { ServingMetrics } from './metrics.js';
import { candidateColumns, eventColumns } from './request-columns.js';
import { batchScoreRequestSchema, eventsRequestSchema, scoreRequestSchema } from './schemas.js';
import type { BatchScoreRequest, EventsRequest, ScoreRequest } from './schemas.js';
import type { ServedModel } from './served-model.js';

export interface ServingLimits {
  /** Candidates per score request (per user in a batch). Default 1000. */
  maxCandidates?: number;
  /** Users per batch score request. Default 64. */
  maxBatchUsers?: number;
  /** Events per events request. Default 1000. */
  maxEvents?: number;
  /** Request body bytes. Default 1 MiB. */
  bodyLimit?: number;
}

export interface ServingAppOptions {
  lifecycle: ModelLifecycle;
  metrics?: ServingMetrics;
  limits?: ServingLimits;
  /** A pino logger (the CLI's); default none (tests). */
  logger?: FastifyBaseLogger;
  /** Request clock in epoch seconds (tests pin it). Default `Date.now() / 1000`. */
  now?: () => number;
  /**
   * Enables `POST /v1/admin/model { dir }`: moves the service to that model once its caches are
   * complete (`switchModel` with the service's store), answering when the flip is done.
   */
  switchModel?: (dir: string) => Promise<{ model: string; previous: string | undefined }>;
}

/** One user's scores: probabilities in candidate order, and whether the user had a cache. */
export interface UserScores {
  user: string;
  probabilities: number[];
  /** `'hit'`, or `'miss'`: no cache for this user, scored as an empty history. */
  cache: 'hit' | 'miss';
  /** Events in the user's cache (0 on a miss). */
  historyEvents: number;
}

/** Fastify's Ajv error → the JSON pointer of the field and a message that names it. */
function validationBody(error: FastifyError): ErrorBody {
  const v = error.validation![0]!;
  const params = v.params as Record<string, unknown>;
  let field = v.instancePath;
  if (typeof params['missingProperty'] === 'string') field += `/${params['missingProperty']}`;
  if (typeof params['additionalProperty'] === 'string') field += `/${params['additionalProperty']}`;
  const what = field === '' ? 'the body' : field;
  const detail = typeof params['additionalProperty'] === 'string' ? 'is not a known field' : typeof params['missingProperty'] === 'string' ? 'is required' : v.message;
  return { error: 'BAD_REQUEST', field: field === '' ? '/' : field, message: `${what} ${detail}.` };
}

/**
 * The HTTP API (Fastify): `POST /v1/score`, `POST /v1/score/batch`, `POST /v1/events`,
 * `GET /healthz`, `GET /readyz`, `GET /metrics`. Bodies are validated against JSON Schemas
 * before any handler runs; every refusal is a JSON body `{ error, message, field? }`.
 */
export function createServingApp(options: ServingAppOptions): FastifyInstance {
  const { lifecycle } = options;
  const metrics = options.metrics ?? new ServingMetrics({ processMetrics: false });
  const limits = { maxCandidates: 1000, maxBatchUsers: 64, maxEvents: 1000, bodyLimit: 1 << 20, ...options.limits };
  const now = options.now ?? (() => Date.now() / 1000);
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: limits.bodyLimit,
    // Strict: no type coercion, no silently dropped fields — a wrong request is a 400 naming the field.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle', // a drain waits for requests in flight, not for idle keep-alive sockets
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) return reply.status(400).send(validationBody(error));
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: error.code ?? 'BAD_REQUEST', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'INTERNAL', message: error.message });
  });

  // While draining, answers close their connection: the drain then ends with the last request
  // in flight, not when idle keep-alive sockets time out.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    metrics.requestSeconds.observe({ route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const fail = (reply: FastifyReply, error: unknown, op: string, list: 'candidates' | 'events', user?: string) => {
    if (error instanceof VqlCacheStoreError && (error.code === 'STORE_UNAVAILABLE' || error.code === 'STORE_CLOSED')) metrics.storeErrors.inc({ op, code: error.code });
    const { status, body } = toHttpError(error, list);
    if (status >= 500) reply.log.warn({ err: error, user }, `${op} failed`);
    return reply.status(status).send(user === undefined ? body : { ...body, user });
  };

  /** Reads one user's cache; a damaged blob is that user's error only, counted. */
  const readCache = async (m: ServedModel, user: string): Promise<UserCache | undefined> => {
    try {
      const cache = await m.store.get(user);
      metrics.cacheLookups.inc({ result: cache === undefined ? 'miss' : 'hit' });
      return cache;
    } catch (error) {
      if (error instanceof CorruptCacheError) metrics.corruptCaches.inc();
      throw error;
    }
  };

  const scoreOne = async (m: ServedModel, req: ScoreRequest): Promise<UserScores> => {
    const started = performance.now();
    const candidates = candidateColumns(m.cacheModel.model, req.candidates, req.time ?? now());
    const cache = await readCache(m, req.user);
    const probs = m.scorer.score(cache, candidates);
    metrics.scoreSeconds.observe((performance.now() - started) / 1000);
    return { user: req.user, probabilities: Array.from(probs), cache: cache === undefined ? 'miss' : 'hit', historyEvents: cache?.eventCount ?? 0 };
  };

  /** Runs `fn` with the active model version held for the whole request (no model mixes within one answer). */
  const withModel = async (reply: FastifyReply, user: string | undefined, fn: (m: ServedModel) => Promise<object>) => {
    let m: ServedModel;
    try {
      m = lifecycle.acquire();
    } catch (error) {
      return fail(reply, error, 'score', 'candidates');
    }
    try {
      return await fn(m);
    } catch (error) {
      return fail(reply, error, 'score', 'candidates', user);
    } finally {
      m.release();
    }
  };

  app.post<{ Body: ScoreRequest }>('/v1/score', { schema: { body: scoreRequestSchema(limits.maxCandidates) } }, async (request, reply) =>
    withModel(reply, request.body.user, async (m) => ({ model: m.version, ...(await scoreOne(m, request.body)) })),
  );

  app.post<{ Body: BatchScoreRequest }>('/v1/score/batch', { schema: { body: batchScoreRequestSchema(limits.maxCandidates, limits.maxBatchUsers) } }, async (request, reply) =>
    withModel(reply, undefined, async (m) => {
      const results = [];
      for (const [i, req] of request.body.requests.entries()) {
        try {
          results.push(await scoreOne(m, req));
        } catch (error) {
          // An outage fails the whole batch (503); one user's bad data fails that user only.
          if (error instanceof VqlCacheStoreError && (error.code === 'STORE_UNAVAILABLE' || error.code === 'STORE_CLOSED')) throw error;
          const { body } = toHttpError(error, 'candidates');
          results.push({ user: req.user, ...body, ...(body.field === undefined ? {} : { field: `/requests/${i}${body.field}` }) });
        }
      }
      return { model: m.version, results };
    }),
  );

  app.post<{ Body: EventsRequest }>('/v1/events', { schema: { body: eventsRequestSchema(limits.maxEvents) } }, async (request, reply) => {
    try {
      const m = lifecycle.acquire();
      let history;
      try {
        history = eventColumns(m.cacheModel.model, request.body.events);
      } finally {
        m.release();
      }
      const result = await lifecycle.append(request.body.user, history);
      metrics.eventsAppended.inc({ source: 'http' }, result.applied);
      metrics.eventsDuplicate.inc({ source: 'http' }, result.duplicates.length + result.stale.length);
      return result;
    } catch (error) {
      return fail(reply, error, 'append', 'events', request.body.user);
    }
  });

  const switchModel = options.switchModel;
  if (switchModel !== undefined) {
    const schema = { body: { type: 'object', properties: { dir: { type: 'string', minLength: 1 } }, required: ['dir'], additionalProperties: false } };
    app.post<{ Body: { dir: string } }>('/v1/admin/model', { schema }, async (request, reply) => {
      try {
        const r = await switchModel(request.body.dir);
        metrics.modelFlips.inc();
        return r;
      } catch (error) {
        return fail(reply, error, 'switch', 'candidates');
      }
    });
  }

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const m = lifecycle.active;
    if (m === undefined) return reply.status(503).send({ ready: false, error: 'MODEL_NOT_READY', message: 'No model is loaded yet.' });
    try {
      await m.store.getBlob('__vql_readyz__'); // a round trip to the store
      return { ready: true, model: m.version, store: m.store.kind, ...(lifecycle.stagingVersion === undefined ? {} : { staging: lifecycle.stagingVersion }) };
    } catch (error) {
      return reply.status(503).send({ ready: false, model: m.version, error: error instanceof VqlCacheStoreError ? error.code : 'STORE_ERROR', message: (error as Error).message });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const m = lifecycle.active;
    metrics.modelInfo.reset();
    if (m !== undefined) metrics.modelInfo.set({ version: m.version }, 1);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}
