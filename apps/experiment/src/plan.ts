import { createHash } from 'node:crypto';
import type { DatasetName, ExperimentConfig, MethodName } from './config.js';
import { VQL_ABLATIONS, fixedBudgetSizes, mainLengths, multiScaleSizes } from './config.js';
import { methodEntry, methodWithRole } from './methods/table.js';
import type { RunSpec, Study } from './run-spec.js';

// The studies about VQL itself (whole history, ablations, K and G sweeps) run the table's subject;
// whole-history VQL gets the floor on the same history.
const SUBJECT = methodWithRole('subject');
const FLOOR = methodWithRole('floor');

type RunParams = Omit<RunSpec, 'id' | 'studies'> & { study: Study };

/** Identity of a run: its parameters, not the study that asked for it (latency runs are apart). */
function runId(spec: RunParams): string {
  const kind = spec.study === 'latency' ? 'latency' : 'train';
  const key = JSON.stringify([kind, spec.method, spec.variant, spec.dataset, spec.L, spec.codebookSizes, spec.heads, spec.seed]);
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

// Variants that only say which history a method reads (the others, ablations, change the model).
const HISTORY_VARIANTS = new Set(['default', 'whole-history']);

/**
 * The behaviours a trained run reads, when another run could read the same ones: 'whole' (the
 * whole history, also the newest L when no history is longer than L) or min(L, window) (last-n).
 * Null: this run's L is what it reads, and no other run at another L reads it.
 */
function behavioursRead(spec: RunSpec, config: ExperimentConfig): 'whole' | number | null {
  const entry = methodEntry(spec.method);
  if (entry.interest === undefined || !HISTORY_VARIANTS.has(spec.variant)) return null;
  const longest = longestHistory(config, spec.dataset);
  const reads = spec.variant === 'whole-history' ? Infinity : Math.min(spec.L, entry.window?.(config) ?? Infinity);
  if (reads >= longest) return 'whole';
  return entry.window !== undefined ? reads : null;
}

/** Synthetic histories are at most historyLength.max long (the generator clips them); real ones: unknown. */
function longestHistory(config: ExperimentConfig, dataset: DatasetName): number {
  return config.datasets.find((d) => d.name === dataset)?.synthetic?.historyLength.max ?? Infinity;
}

/** Marks every trained run that reads what an earlier one reads (same model, seed and behaviours) as `sameAs` it. */
function markCopies(runs: RunSpec[], config: ExperimentConfig): void {
  const first = new Map<string, RunSpec>();
  for (const run of runs) {
    if (run.studies.includes('latency')) continue;
    const reads = behavioursRead(run, config);
    if (reads === null) continue;
    const key = JSON.stringify([run.method, run.dataset, reads, run.codebookSizes, run.heads, run.seed]);
    const source = first.get(key);
    if (source === undefined) {
      first.set(key, run);
      continue;
    }
    const what = reads === 'whole'
      ? `every behaviour (no ${run.dataset} history is longer than ${longestHistory(config, run.dataset)})`
      : `the newest ${reads} behaviours at either L`;
    run.sameAs = { id: source.id, why: `trained once with run ${source.id} (${source.variant === 'default' ? '' : `${source.variant}, `}L = ${source.L}): both read ${what}` };
  }
}

/**
 * Expands a config into the ordered list of runs. `available` is the set of datasets actually
 * found (missing real datasets are skipped by the caller with a message). A run asked for by
 * several studies (the main VQL run is also the default point of the K, G and L sweeps) is
 * trained once and listed in each of them; a run that would train the same model on the same
 * behaviours as an earlier one at another L is marked `sameAs` it (the runner copies the record).
 */
export function planRuns(config: ExperimentConfig, available: ReadonlySet<DatasetName>): RunSpec[] {
  const byId = new Map<string, RunSpec>();
  const runs = {
    push(params: RunParams): void {
      const id = runId(params);
      const existing = byId.get(id);
      if (existing !== undefined) {
        if (!existing.studies.includes(params.study)) existing.studies.push(params.study);
        return;
      }
      const { study, ...rest } = params;
      byId.set(id, { id, studies: [study], ...rest });
    },
  };
  const { model, studies } = config;
  const datasets = config.datasets.filter((d) => available.has(d.name));
  // A method runs once per variant its table entry lists for the dataset (the oracle: on the whole
  // history and on the newest L, the ceilings of methods that see all or L behaviours).
  const pushMethod = (params: Omit<RunParams, 'variant'>): void => {
    const variants = methodEntry(params.method).variants?.(params.dataset) ?? ['default'];
    for (const variant of variants) runs.push({ ...params, variant });
  };
  // Costly baselines may run the main comparison on fewer seeds; the sweeps on the first `sweepSeeds`.
  const mainSeeds = (method: MethodName): Set<number> => new Set(config.seeds.slice(0, studies.seedsPerMethod?.[method] ?? config.seeds.length));
  const sweepSeeds = new Set(config.seeds.slice(0, studies.sweepSeeds ?? config.seeds.length));
  for (const seed of config.seeds) {
    const sweeps = sweepSeeds.has(seed);
    for (const ds of datasets) {
      const lengths = mainLengths(ds);
      for (const L of lengths) {
        const base = { dataset: ds.name, L, codebookSizes: model.codebookSizes, heads: model.heads, seed };
        if (studies.main) {
          for (const method of config.methods) {
            if (!mainSeeds(method).has(seed)) continue;
            pushMethod({ ...base, study: 'main', method });
          }
        }
      }
      if (studies.main && studies.wholeHistoryVql && ds.name === 'synthetic' && config.methods.includes(SUBJECT)) {
        // Sees every behaviour whatever L is: trained once, listed with the largest main L.
        runs.push({ dataset: ds.name, L: Math.max(...lengths), codebookSizes: model.codebookSizes, heads: model.heads, seed, study: 'main', method: SUBJECT, variant: 'whole-history' });
        // Its floor sees the same history: the category mix of every earlier behaviour.
        if (config.methods.includes(FLOOR)) {
          runs.push({ dataset: ds.name, L: Math.max(...lengths), codebookSizes: model.codebookSizes, heads: model.heads, seed, study: 'main', method: FLOOR, variant: 'whole-history' });
        }
      }
      const base = { dataset: ds.name, L: lengths[0]!, codebookSizes: model.codebookSizes, heads: model.heads, seed };
      const ablate = studies.ablations === true || (Array.isArray(studies.ablations) && studies.ablations.includes(ds.name));
      if (sweeps && ablate && config.methods.includes(SUBJECT)) {
        for (const variant of VQL_ABLATIONS) runs.push(({ ...base, study: 'ablation', method: SUBJECT, variant }));
      }
    }
    // Sensitivity studies run on the first dataset (synthetic in the presets: the ultra-long one).
    const first = datasets[0];
    if (first === undefined || !sweeps) continue;
    const base = { dataset: first.name, L: mainLengths(first)[0]!, heads: model.heads, seed, variant: 'default' };
    if (config.methods.includes(SUBJECT)) {
      for (const K of studies.codebookSweep) {
        runs.push(({ ...base, study: 'codebook-sweep', method: SUBJECT, codebookSizes: multiScaleSizes(K, model.groups) }));
      }
      // The G sweep keeps the total code budget: more groups share the same number of codes.
      const budget = model.codebookSizes.reduce((a, b) => a + b, 0);
      for (const G of studies.groupSweep) {
        const heads = Math.max(model.heads, G) % G === 0 ? Math.max(model.heads, G) : G * Math.ceil(model.heads / G);
        runs.push(({ ...base, study: 'group-sweep', method: SUBJECT, heads, codebookSizes: fixedBudgetSizes(budget, G) }));
      }
    }
    const sweepMethods = studies.lengthSweepMethods.filter((m) => config.methods.includes(m));
    for (const L of studies.lengthSweep) {
      for (const method of sweepMethods) pushMethod({ ...base, study: 'length-sweep', method, L, codebookSizes: model.codebookSizes });
    }
    if (studies.latency !== null) {
      for (const L of studies.latency.lengths) {
        for (const method of studies.latency.methods) {
          runs.push(({ ...base, study: 'latency', method, L, codebookSizes: model.codebookSizes }));
        }
      }
    }
  }
  const planned = [...byId.values()];
  markCopies(planned, config);
  return planned;
}
