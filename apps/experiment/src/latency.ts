import { EtaScorer, SdimScorer, TwinScorer } from '@vql/baselines/online';
import type { Eta, Sdim, Twin } from '@vql/baselines/topk';
import { CachedScorer, CtrCacheModel, buildUserCache, decodeCache, encodeCache, exactAttention } from '@vql/cache-store';
import type { ExactAttentionState, UserHistory } from '@vql/cache-store';
import { latencySummary } from '@vql/metrics';
import { CtrModel } from '@vql/model';
import type { VqlAttention } from '@vql/model';
import { createRng, tf } from '@vql/runtime';
import type { ExperimentConfig, MethodName } from './config.js';
import { modelConfigFor } from './methods.js';
import type { PreparedDataset } from './datasets.js';
import { ExperimentRunError } from './errors.js';
import type { RunSpec } from './plan.js';
import type { RunRecord } from './results.js';

// Online cost per request, measured on typed arrays with untrained (seeded) weights — latency does
// not depend on what the weights learned. Histories are random items over three years.
const NUM_ITEMS = 20_000;
const NOW = 1.75e9;
/** Requests slower than this (estimated from the first one) are measured once. */
const SLOW_MS = 2_000;
/** A single request estimated above this is not run: the record says so instead. */
const SKIP_MS = 60_000;

interface Scorer {
  /** Bytes of per-user state the method keeps online. */
  stateBytes: number;
  /** One request for `candidates` (interest vectors; the tower is the same for every method). */
  request(candidates: Int32Array): void;
  dispose(): void;
}

function history(L: number, seed: number): UserHistory {
  const rng = createRng(`latency/history/${L}/${seed}`);
  const span = Math.log(3 * 365 * 86400);
  const times = Float64Array.from({ length: L }, () => NOW - 1 - Math.floor(Math.exp(rng.next() * span)));
  times.sort();
  return { items: Int32Array.from({ length: L }, () => 1 + rng.int(NUM_ITEMS)), times };
}

/** A schema-only dataset for building untrained models (no context features). */
function latencyDataset(): PreparedDataset {
  return { name: 'synthetic', schema: { numUsers: 1, numItems: NUM_ITEMS, context: [], hasExplicitLabels: true }, categoryFeature: null, hasOracle: false } as unknown as PreparedDataset;
}

function embedInChunks(model: CtrModel, items: Int32Array, part: 'fused' | 'item' = 'fused'): Float32Array {
  const parts: Float32Array[] = [];
  for (let a = 0; a < items.length; a += 100_000) parts.push(model.embedBehaviours(items.subarray(a, a + 100_000), {})[part]);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function vqlScorers(model: CtrModel, h: UserHistory): { vql: Scorer; full: Scorer } {
  const attention = model.interest as VqlAttention;
  const { wk, inputDim } = attention.projectionsHost();
  const fused = embedInChunks(model, h.items);
  const L = h.items.length;
  const kw = wk.length / inputDim; // G·d_h
  const keys = new Float32Array(L * kw);
  for (let i = 0; i < L; i++) {
    for (let c = 0; c < kw; c++) {
      let s = 0;
      for (let k = 0; k < inputDim; k++) s += fused[i * inputDim + k]! * wk[k * kw + c]!;
      keys[i * kw + c] = s;
    }
  }
  // Seed the codebooks from these keys (k-means++, as training would on its first batch), so the
  // cache holds as many distinct codes as a trained model's — VQL's request cost grows with them.
  const groups = (attention.config['codebookSizes'] as number[]).length;
  const sample = Math.min(L, 20_000);
  tf.tidy(() => attention.quantizer.initialize(tf.tensor3d(keys.subarray(0, sample * kw), [sample, groups, kw / groups])));
  const cm = new CtrCacheModel(model);
  const cached = new CachedScorer(cm);
  const blob = encodeCache(buildUserCache(cm, h));
  const vql: Scorer = {
    stateBytes: blob.byteLength,
    // A request decodes the user's blob (as fetched from a store) and scores from it.
    request: (items) => cached.interest(decodeCache(blob), { items, time: NOW }),
    dispose: () => cm.dispose(), // the cache model's weight snapshot (idempotent)
  };
  // Full attention over the same model's exact keys and values (projection not timed: its best case).
  const kernel = attention.temporalKernel();
  const values = cm.encodeEvents(h).values;
  const full: Scorer = {
    stateBytes: keys.byteLength + values.byteLength + h.times.byteLength,
    request: (items) => {
      const enc = cm.encodeCandidates({ items, time: NOW });
      const logBias = Float64Array.from(h.times, (t) => (kernel === null ? 0 : Math.log(kernel.evaluate(NOW - t))));
      const state: ExactAttentionState = { count: L, keys, values, logBias };
      exactAttention(cm.layout, state, enc.queries, enc.count, cm.logitScale);
    },
    dispose: () => cm.dispose(), // the cache model's weight snapshot (idempotent)
  };
  return { vql, full };
}

function baselineScorer(method: MethodName, model: CtrModel, h: UserHistory): Scorer {
  // Fused rows for the attention, item rows for ETA / SDIM's hash, times for the temporal kernel.
  const userHistory = { embeddings: embedInChunks(model, h.items), itemEmbeddings: embedInChunks(model, h.items, 'item'), times: h.times };
  const targets = (items: Int32Array) => {
    const { fused, item } = model.embedTargets(items, {});
    return { embeddings: fused, itemEmbeddings: item, time: NOW };
  };
  const L = h.items.length;
  switch (method) {
    case 'twin': {
      const s = TwinScorer.fromModule(model.interest as Twin);
      const state = s.buildState(userHistory);
      return { stateBytes: s.stateBytesPerUser(L), request: (items) => s.score(state, targets(items)), dispose: () => {} };
    }
    case 'eta': {
      const s = EtaScorer.fromModule(model.interest as Eta);
      const state = s.buildState(userHistory);
      return { stateBytes: s.stateBytesPerUser(L), request: (items) => s.score(state, targets(items)), dispose: () => {} };
    }
    case 'sdim': {
      const s = SdimScorer.fromModule(model.interest as Sdim);
      const state = s.buildState(userHistory);
      return { stateBytes: s.stateBytesPerUser(L), request: (items) => s.score(state, targets(items)), dispose: () => {} };
    }
    default:
      throw new ExperimentRunError('NO_ONLINE_SCORER', `no online scorer for method "${method}" in the latency study (supported: vql, full-attention, twin, eta, sdim)`);
  }
}

function measure(scorer: Scorer, candidates: number, requests: number, seed: string, estimateMs: number): { p50: number; p99: number } | null {
  if (estimateMs > SKIP_MS) return null;
  const rng = createRng(seed);
  const draw = () => Int32Array.from({ length: candidates }, () => 1 + rng.int(NUM_ITEMS));
  let first = 0;
  for (let w = 0; w < 3 && first < SLOW_MS; w++) {
    // Warm-up (JIT), and the time of one request.
    const t0 = performance.now();
    scorer.request(draw());
    first = performance.now() - t0;
  }
  const reps = first > SLOW_MS ? 1 : Math.max(3, Math.min(requests, Math.floor(10_000 / Math.max(first, 0.01))));
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const items = draw();
    const t = performance.now();
    scorer.request(items);
    samples.push(performance.now() - t);
  }
  const s = latencySummary(samples);
  return { p50: s.p50, p99: s.p99 };
}

/** Latency per request (1 and 100 candidates) and per-user state bytes for one method at one L. */
export async function measureLatency(spec: RunSpec, config: ExperimentConfig): Promise<Partial<RunRecord>> {
  const latency = config.studies.latency!;
  const h = history(spec.L, spec.seed);
  const asVql: RunSpec = { ...spec, method: 'vql', variant: 'default' };
  const useVql = spec.method === 'vql' || spec.method === 'full-attention';
  const model = new CtrModel(modelConfigFor(useVql ? asVql : spec, config, latencyDataset()));
  try {
    let scorer: Scorer;
    if (useVql) {
      const pair = vqlScorers(model, h);
      scorer = spec.method === 'vql' ? pair.vql : pair.full;
    } else {
      scorer = baselineScorer(spec.method, model, h);
    }
    const one = latency.candidates.includes(1) ? measure(scorer, 1, latency.requests, `${spec.id}/1`, 0) : null;
    // O(L) methods cost ~100× one candidate for 100; skip what would take minutes per request.
    const hundred = latency.candidates.includes(100) ? measure(scorer, 100, latency.requests, `${spec.id}/100`, (one?.p50 ?? 0) * 100) : null;
    scorer.dispose();
    const skipped = [one === null && latency.candidates.includes(1) ? '1' : null, hundred === null && latency.candidates.includes(100) ? '100' : null].filter((x) => x !== null);
    return {
      latencyP50Ms: one?.p50 ?? null,
      latencyP99Ms: one?.p99 ?? null,
      latencyP50Ms100: hundred?.p50 ?? null,
      latencyP99Ms100: hundred?.p99 ?? null,
      cacheBytesPerUser: scorer.stateBytes,
      ...(skipped.length > 0 ? { note: `not measured for ${skipped.join(' and ')} candidates: one request would take over ${SKIP_MS / 1000} s (estimated from 1 candidate)` } : {}),
    };
  } finally {
    model.dispose();
  }
}

