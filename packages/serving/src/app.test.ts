import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServingApp } from './app.js';
import { ModelLifecycle } from './lifecycle.js';
import { ServingMetrics } from './metrics.js';
import { ServedModel } from './served-model.js';
import { exportTestModel } from './testing/fixtures.js';

const NOW = 1.75e9;
let root: string;
let served: ServedModel;
let lifecycle: ModelLifecycle;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'vql-serving-app-'));
  const { dir } = await exportTestModel(11, root);
  served = await ServedModel.load(dir, { kind: 'lmdb', path: join(root, 'caches') });
  lifecycle = new ModelLifecycle(served);
  app = createServingApp({ lifecycle, metrics: new ServingMetrics({ processMetrics: false }), limits: { maxCandidates: 5, bodyLimit: 4096 }, now: () => NOW });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await lifecycle.close();
  rmSync(root, { recursive: true, force: true });
});

const score = (body: unknown) => app.inject({ method: 'POST', url: '/v1/score', payload: body as object });

describe('HTTP API', () => {
  it('scores a user without a cache as an empty history and says so', async () => {
    const res = await score({ user: 'nobody', candidates: [{ item: 1 }, { item: 2 }, { item: 3 }] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model: served.version, user: 'nobody', cache: 'miss', historyEvents: 0 });
    const expected = served.scorer.score(undefined, { items: Int32Array.of(1, 2, 3), time: NOW });
    expect(body.probabilities).toEqual(Array.from(expected));
  });

  it('appends events idempotently by id and scores from the cache they built', async () => {
    const events = [
      { id: 1, item: 5, time: NOW - 3600 },
      { id: 2, item: 9, time: NOW - 60 },
      { id: 'click-3', item: 7, time: NOW - 5 },
    ];
    const first = await app.inject({ method: 'POST', url: '/v1/events', payload: { user: 'u1', events } });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ model: served.version, applied: 3, duplicates: [], stale: [] });
    const again = await app.inject({ method: 'POST', url: '/v1/events', payload: { user: 'u1', events } });
    expect(again.json()).toEqual({ model: served.version, applied: 0, duplicates: [1, 2, 'click-3'], stale: [] });

    const res = await score({ user: 'u1', candidates: [{ item: 4 }, { item: 5 }], time: NOW });
    expect(res.json()).toMatchObject({ cache: 'hit', historyEvents: 3 });
    const cache = await served.store.get('u1');
    expect(res.json().probabilities).toEqual(Array.from(served.scorer.score(cache, { items: Int32Array.of(4, 5), time: NOW })));
    // Not the empty-history score: the events changed it.
    expect(res.json().probabilities).not.toEqual(Array.from(served.scorer.score(undefined, { items: Int32Array.of(4, 5), time: NOW })));
  });

  it('scores several users in one batch request, in order', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/score/batch',
      payload: { requests: [{ user: 'u1', candidates: [{ item: 4 }] }, { user: 'nobody', candidates: [{ item: 4 }, { item: 6 }] }] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.model).toBe(served.version);
    expect(body.results.map((r: { user: string; cache: string; probabilities: number[] }) => [r.user, r.cache, r.probabilities.length])).toEqual([
      ['u1', 'hit', 1],
      ['nobody', 'miss', 2],
    ]);
  });

  it.each([
    ['a missing user', { candidates: [{ item: 1 }] }, '/user', /\/user is required/],
    ['an item that is not an integer', { user: 'u', candidates: [{ item: 1 }, { item: 'x' }] }, '/candidates/1/item', /must be integer/],
    ['an unknown field', { user: 'u', candidates: [{ item: 1, colour: 'red' }] }, '/candidates/0/colour', /is not a known field/],
    ['too many candidates', { user: 'u', candidates: Array.from({ length: 6 }, () => ({ item: 1 })) }, '/candidates', /must NOT have more than 5 items/],
    ['no candidates', { user: 'u', candidates: [] }, '/candidates', /must NOT have fewer than 1 items/],
    ['an item outside the vocabulary', { user: 'u', candidates: [{ item: 1 }, { item: 201 }] }, '/candidates/1/item', /outside the model's item vocabulary 1\.\.200/],
    ['a context feature the model does not read', { user: 'u', candidates: [{ item: 1, context: { category: 3 } }] }, '/candidates/0/context/category', /no item feature "category"/],
    ['a request time in milliseconds', { user: 'u1', candidates: [{ item: 1 }], time: NOW * 1000 }, '/time', /looks like milliseconds/],
    ['a request time before the newest cached event', { user: 'u1', candidates: [{ item: 1 }], time: NOW - 10 }, '/time', /before the newest cached event/],
  ])('refuses %s with a 400 naming the field', async (_what, body, field, message) => {
    const res = await score(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe(field);
    expect(res.json().message).toMatch(message);
  });

  it.each([
    ['an event without id', { user: 'u', events: [{ item: 1, time: NOW }] }, '/events/0/id'],
    ['an event time in milliseconds', { user: 'u', events: [{ id: 1, item: 1, time: NOW - 1 }, { id: 2, item: 1, time: NOW * 1000 }] }, '/events/1/time'],
    ['an event item outside the vocabulary', { user: 'u', events: [{ id: 1, item: 0, time: NOW }] }, '/events/0/item'],
  ])('refuses %s with a 400 naming the field, writing nothing', async (_what, body, field) => {
    const res = await app.inject({ method: 'POST', url: '/v1/events', payload: body });
    expect(res.statusCode).toBe(400);
    expect(res.json().field).toBe(field);
    expect(await served.store.get('u')).toBeUndefined();
  });

  it('refuses malformed JSON with a 400 and an oversized body with a 413', async () => {
    const bad = await app.inject({ method: 'POST', url: '/v1/score', headers: { 'content-type': 'application/json' }, payload: '{"user": ' });
    expect(bad.statusCode).toBe(400);
    const big = await score({ user: 'u', candidates: [{ item: 1 }], pad: 'x'.repeat(5000) });
    expect(big.statusCode).toBe(413);
  });

  it('answers healthz, readyz (model and store) and Prometheus metrics', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, model: served.version, store: 'lmdb' });
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/text\/plain/);
    const text = metrics.body;
    expect(text).toMatch(/vql_cache_lookups_total\{result="miss"\} [1-9]/);
    expect(text).toMatch(/vql_cache_lookups_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/vql_events_appended_total\{source="http"\} 3/);
    expect(text).toMatch(/vql_events_duplicate_total\{source="http"\} 3/);
    expect(text).toMatch(/vql_http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/score",status="200"\}/);
    expect(text).toContain(`vql_model_info{version="${served.version}"} 1`);
  });
});
