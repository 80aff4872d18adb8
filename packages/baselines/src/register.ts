import { interestModuleKinds, registerInterestModule } from '@vql/model';
import type { InterestModuleFactory } from '@vql/model';
import { MultiInterest } from './compression/multi-interest.js';
import { SlotCompression } from './compression/slot-compression.js';
import { Eta } from './topk/eta.js';
import { Sdim } from './topk/sdim.js';
import { SimHard } from './topk/sim-hard.js';
import { SimSoft } from './topk/sim-soft.js';
import { Twin } from './topk/twin.js';

/** Kind → factory of every baseline, in the names the experiment runner uses. */
export const BASELINE_FACTORIES: Readonly<Record<string, InterestModuleFactory>> = {
  'sim-hard': SimHard.fromConfig,
  'sim-soft': SimSoft.fromConfig,
  eta: Eta.fromConfig,
  twin: Twin.fromConfig,
  sdim: Sdim.fromConfig,
  'slot-compression': SlotCompression.fromConfig,
  'multi-interest': MultiInterest.fromConfig,
};

/**
 * Registers every baseline with @vql/model's registry — call it once before building a model
 * with a baseline kind (importing the package registers nothing). Kinds already registered are
 * left alone, so calling it twice is harmless and the package never shadows another's module.
 * Returns the kinds it added.
 */
export function registerBaselines(): string[] {
  const existing = new Set(interestModuleKinds());
  const added: string[] = [];
  for (const [kind, factory] of Object.entries(BASELINE_FACTORIES)) {
    if (existing.has(kind)) continue;
    registerInterestModule(kind, factory);
    added.push(kind);
  }
  return added;
}
