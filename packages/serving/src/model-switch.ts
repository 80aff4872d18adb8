import type { EventTable } from '@vql/data';
import { buildModelCaches, isComplete } from './build.js';
import { VqlServingError } from './errors.js';
import type { ModelLifecycle } from './lifecycle.js';
import { ServedModel } from './served-model.js';
import { describeStore } from './stores.js';
import type { StoreSpec } from './stores.js';

export interface SwitchModelOptions {
  modelDir: string;
  spec: StoreSpec;
  /** Event table to build the new version's caches from when no complete build is recorded. */
  table?: EventTable;
  /** Build threads. Default 2. */
  workers?: number;
  storeTimeoutMs?: number;
}

/**
 * Moves the service to the model in `modelDir`: loads it, makes sure its caches are complete
 * (a recorded build — `vql-serve build`, possibly over BullMQ — or one built now from `table`),
 * replays the events that arrived meanwhile, then flips. The old version serves until then.
 */
export async function switchModel(lifecycle: ModelLifecycle, options: SwitchModelOptions): Promise<{ model: string; previous: string | undefined }> {
  const previous = lifecycle.active?.version;
  const load = () => ServedModel.load(options.modelDir, options.spec, options.storeTimeoutMs === undefined ? {} : { commandTimeoutMs: options.storeTimeoutMs });
  await lifecycle.stage(load, async (m) => {
    if (await isComplete(options.spec, m.version)) return;
    if (options.table === undefined) {
      throw new VqlServingError(
        'INVALID_CONFIG',
        `The caches of model ${m.version.slice(0, 16)} are not built under ${describeStore(options.spec)}: run \`vql-serve build --model ${options.modelDir} --events <dir>\` first, or start the service with --events so it builds them.`,
      );
    }
    await buildModelCaches({ modelDir: options.modelDir, table: options.table, spec: options.spec, fingerprint: m.version, workers: options.workers ?? 2 });
  });
  return { model: lifecycle.active!.version, previous };
}
