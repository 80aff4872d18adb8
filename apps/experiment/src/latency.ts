import type { UserHistory } from '@vql/cache-store';
import { latencySummary } from '@vql/metrics';
import { CtrModel } from '@vql/model';
import { createRng } from '@vql/runtime';
import type { ExperimentConfig } from './config.js';
import type { PreparedDataset } from './datasets.js';
import { ExperimentRunError } from './errors.js';
import type { OnlineScorer } from './methods/method-entry.js';
import { modelConfigFor } from './methods/model-config.js';
import { latencyMethods, methodEntry } from './methods/table.js';
import type { RunSpec } from './run-spec.js';
import type { RunRecord } from './results.js';

// Online cost per request, measured on typed arrays with untrained (seeded) weights — latency does
// not depend on what the weights learned. Histories are random items over three years.
const NUM_ITEMS = 20_000;
const NOW = 1.75e9;
/** Requests slower than this (estimated from the first one) are measured once. */
const SLOW_MS = 2_000;
/** A single request estimated above this is not run: the record says so instead. */
const SKIP_MS = 60_000;

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

function measure(scorer: OnlineScorer, candidates: number, requests: number, seed: string, estimateMs: number): { p50: number; p99: number } | null {
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

/**
 * Latency per request (1 and 100 candidates) and per-user state bytes for one method at one L:
 * the method's table entry builds the scorer, from an untrained model of the method it names.
 */
export async function measureLatency(spec: RunSpec, config: ExperimentConfig): Promise<Partial<RunRecord>> {
  const latency = config.studies.latency!;
  const entry = methodEntry(spec.method);
  if (entry.latency === undefined) {
    throw new ExperimentRunError('NO_ONLINE_SCORER', `no online scorer for method "${spec.method}" in the latency study (supported: ${latencyMethods().join(', ')})`);
  }
  const h = history(spec.L, spec.seed);
  const modelSpec: RunSpec = entry.latency.modelOf === undefined ? spec : { ...spec, method: entry.latency.modelOf, variant: 'default' };
  const buildScorer = await entry.latency.scorer();
  const model = new CtrModel(modelConfigFor(modelSpec, config, latencyDataset(), { wholeHistory: true }));
  try {
    const scorer = buildScorer(model, h, NOW);
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
