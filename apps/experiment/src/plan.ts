import { createHash } from 'node:crypto';
import type { DatasetName, ExperimentConfig, MethodName } from './config.js';
import { VQL_ABLATIONS, multiScaleSizes } from './config.js';

export type Study = 'main' | 'ablation' | 'codebook-sweep' | 'group-sweep' | 'length-sweep' | 'latency';

/** One training (or latency) run: everything that determines its numbers. */
export interface RunSpec {
  id: string;
  /** Every study this run's numbers appear in (a main-comparison VQL run is also a sweep point). */
  studies: Study[];
  method: MethodName;
  /** 'default' or a VQL ablation name. */
  variant: string;
  dataset: DatasetName;
  L: number;
  /** Codebook sizes per group (VQL family) — recorded as K = largest, G = count. */
  codebookSizes: number[];
  heads: number;
  seed: number;
}

type RunParams = Omit<RunSpec, 'id' | 'studies'> & { study: Study };

/** Identity of a run: its parameters, not the study that asked for it (latency runs are apart). */
function runId(spec: RunParams): string {
  const kind = spec.study === 'latency' ? 'latency' : 'train';
  const key = JSON.stringify([kind, spec.method, spec.variant, spec.dataset, spec.L, spec.codebookSizes, spec.heads, spec.seed]);
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Expands a config into the ordered list of runs. `available` is the set of datasets actually
 * found (missing real datasets are skipped by the caller with a message). A run asked for by
 * several studies (the main VQL run is also the default point of the K, G and L sweeps) is
 * trained once and listed in each of them.
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
  for (const seed of config.seeds) {
    for (const ds of datasets) {
      const base = { dataset: ds.name, L: ds.maxLen, codebookSizes: model.codebookSizes, heads: model.heads, seed };
      if (studies.main) {
        for (const method of config.methods) {
          if (method === 'oracle' && ds.name !== 'synthetic') continue;
          runs.push(({ ...base, study: 'main', method, variant: 'default' }));
        }
      }
      const ablate = studies.ablations === true || (Array.isArray(studies.ablations) && studies.ablations.includes(ds.name));
      if (ablate && config.methods.includes('vql')) {
        for (const variant of VQL_ABLATIONS) runs.push(({ ...base, study: 'ablation', method: 'vql', variant }));
      }
    }
    // Sensitivity studies run on the first dataset (synthetic in the presets: the ultra-long one).
    const first = datasets[0];
    if (first === undefined) continue;
    const base = { dataset: first.name, L: first.maxLen, heads: model.heads, seed, variant: 'default' };
    if (config.methods.includes('vql')) {
      for (const K of studies.codebookSweep) {
        runs.push(({ ...base, study: 'codebook-sweep', method: 'vql', codebookSizes: multiScaleSizes(K, model.groups) }));
      }
      const largest = Math.max(...model.codebookSizes);
      for (const G of studies.groupSweep) {
        const heads = Math.max(model.heads, G) % G === 0 ? Math.max(model.heads, G) : G * Math.ceil(model.heads / G);
        runs.push(({ ...base, study: 'group-sweep', method: 'vql', heads, codebookSizes: multiScaleSizes(largest, G) }));
      }
    }
    const sweepMethods = studies.lengthSweepMethods.filter((m) => config.methods.includes(m));
    for (const L of studies.lengthSweep) {
      for (const method of sweepMethods) {
        if (method === 'oracle' && first.name !== 'synthetic') continue;
        runs.push(({ ...base, study: 'length-sweep', method, L, codebookSizes: model.codebookSizes }));
      }
    }
    if (studies.latency !== null) {
      for (const L of studies.latency.lengths) {
        for (const method of studies.latency.methods) {
          runs.push(({ ...base, study: 'latency', method, L, codebookSizes: model.codebookSizes }));
        }
      }
    }
  }
  return [...byId.values()];
}
