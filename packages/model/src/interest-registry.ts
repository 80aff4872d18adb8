import { VqlModelError } from './errors.js';
import { FullTargetAttention } from './full-target-attention.js';
import type { InterestBuildContext, InterestModule, InterestModuleConfig, InterestModuleFactory, InterestOutput } from './interest-module.js';
import { VqlAttention } from './vql-attention.js';

// The registry of interest modules by kind: `CtrModel` builds its module here from the JSON config.

/**
 * The methods @vql/model ships, by registry kind: the registry starts with them. Other packages
 * add theirs by an explicit call (`registerBaselines()` of @vql/baselines), never on import.
 */
const BUILTIN_MODULES: ReadonlyArray<[string, InterestModuleFactory]> = [
  [FullTargetAttention.kind, (config, context) => FullTargetAttention.fromConfig(config, context)],
  [VqlAttention.kind, (config, context) => VqlAttention.fromConfig(config, context)],
];

const registry = new Map<string, InterestModuleFactory>(BUILTIN_MODULES);

/**
 * Makes `kind` buildable by `createInterestModule` ('vql' and 'full-attention' are there from the
 * start; `registerBaselines()` of @vql/baselines adds its own). Registering a kind twice throws
 * unless `replace` is set, so two packages cannot silently shadow each other.
 */
export function registerInterestModule(
  kind: string,
  factory: InterestModuleFactory,
  options: { replace?: boolean } = {},
): void {
  if (typeof kind !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(kind)) {
    throw new VqlModelError('INVALID_ARGUMENT', `registerInterestModule(kind): kind must be kebab-case, got ${JSON.stringify(kind)}.`);
  }
  if (typeof factory !== 'function') {
    throw new VqlModelError('INVALID_ARGUMENT', `registerInterestModule("${kind}", factory): factory must be a function.`);
  }
  if (registry.has(kind) && options.replace !== true) {
    throw new VqlModelError('DUPLICATE_KIND', `registerInterestModule: kind "${kind}" is already registered; pass { replace: true } to override it.`);
  }
  registry.set(kind, factory);
}

/** Registered kinds, sorted. */
export function interestModuleKinds(): string[] {
  return [...registry.keys()].sort();
}

/** Builds a module from its JSON config; throws naming the unknown kind and the known ones. */
export function createInterestModule(config: InterestModuleConfig, context: InterestBuildContext): InterestModule {
  if (config === null || typeof config !== 'object' || typeof config.kind !== 'string') {
    throw new VqlModelError('INVALID_CONFIG', 'createInterestModule(config): config must be an object with a string "kind".');
  }
  const factory = registry.get(config.kind);
  if (factory === undefined) {
    throw new VqlModelError(
      'UNKNOWN_KIND',
      `createInterestModule: unknown interest module kind "${config.kind}"; registered: ${interestModuleKinds().join(', ') || 'none'}.`,
    );
  }
  const module = factory(config, context);
  if (module.kind !== config.kind) {
    throw new VqlModelError('INVALID_CONFIG', `createInterestModule: factory for "${config.kind}" built a module of kind "${module.kind}".`);
  }
  return module;
}

/**
 * Checks a module's output against the batch (shape [B, outputDim], auxLoss scalar); the model
 * calls it on every forward so a broken baseline fails with its name, not deep inside the tower.
 */
export function checkInterestOutput(module: InterestModule, output: InterestOutput, batchSize: number): void {
  const shape = output.interest.shape;
  if (shape.length !== 2 || shape[0] !== batchSize || shape[1] !== module.outputDim) {
    throw new VqlModelError(
      'SHAPE_MISMATCH',
      `interest module "${module.kind}" returned interest of shape [${shape.join(', ')}], expected [${batchSize}, ${module.outputDim}].`,
    );
  }
  if (output.auxLoss !== undefined && output.auxLoss.rank !== 0) {
    throw new VqlModelError('SHAPE_MISMATCH', `interest module "${module.kind}" returned an auxLoss of rank ${output.auxLoss.rank}; expected a scalar.`);
  }
}
