// Test-only: tiny exported VQL models (untrained, seeded) for the service tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtrModel, exportModel } from '@vql/model';
import { initBackend } from '@vql/runtime';

export const TEST_ITEMS = 200;

/** Exports an untrained VQL model (H = 4 in 2 groups, K = [16, 64]) and returns its directory and fingerprint. */
export async function exportTestModel(seed: number, root = mkdtempSync(join(tmpdir(), 'vql-serving-model-')), numItems = TEST_ITEMS): Promise<{ dir: string; fingerprint: string }> {
  await initBackend();
  const model = new CtrModel({
    numItems,
    embeddingDim: 16,
    embeddingInitScale: 0.5,
    interest: { kind: 'vql', heads: 4, groups: 2, headDim: 8, codebookSizes: [16, 64], quantizer: { init: 'random' } },
    tower: [16],
    seed,
  });
  try {
    const dir = join(root, `model-${seed}`);
    const { fingerprint } = await exportModel(model, dir);
    return { dir, fingerprint };
  } finally {
    model.dispose();
  }
}
