// What both serving benches share: their flags and the production-shape model.
import { CtrModel } from '@vql/model';

const args = process.argv.slice(2);

/** The value after `name` on the command line, if given. */
export function flag(name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

export const NUM_ITEMS = 20_000;

/**
 * H = 4 heads in 2 groups, d_h = 16, K = [64, 256], D = 32, tower [64, 32] (issue 14's shape),
 * seeded; random code init and a wide embedding scale so caches hit many codes untrained.
 */
export function benchModel(): CtrModel {
  return new CtrModel({
    numItems: NUM_ITEMS,
    embeddingDim: 32,
    embeddingInitScale: 0.5,
    interest: { kind: 'vql', heads: 4, groups: 2, headDim: 16, codebookSizes: [64, 256], quantizer: { init: 'random' } },
    tower: [64, 32],
    seed: 1,
  });
}
