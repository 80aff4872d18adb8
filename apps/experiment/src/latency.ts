import type { ExperimentConfig } from './config.js';
import type { RunSpec } from './plan.js';
import type { RunRecord } from './results.js';

export async function measureLatency(_spec: RunSpec, _config: ExperimentConfig): Promise<Partial<RunRecord>> {
  throw new Error('latency study not wired yet');
}
