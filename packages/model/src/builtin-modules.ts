import { FullTargetAttention } from './full-target-attention.js';
import type { InterestModuleFactory } from './interest-module.js';
import { VqlAttention } from './vql-attention.js';

/**
 * The methods @vql/model ships, by registry kind. `interest-module.ts` installs them on first use
 * of the registry (a function call, not an import side effect, so `sideEffects: false` holds).
 */
export function builtinInterestModules(): Array<[string, InterestModuleFactory]> {
  return [
    [FullTargetAttention.kind, (config, context) => FullTargetAttention.fromConfig(config, context)],
    [VqlAttention.kind, (config, context) => VqlAttention.fromConfig(config, context)],
  ];
}
