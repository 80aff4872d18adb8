import { checkKnownKeys, loadWeights, saveWeights, tf } from '@vql/runtime';
import type { JsonValue } from '@vql/runtime';
import { CtrModel } from './ctr-model.js';
import type { CtrModelConfig } from './ctr-model.js';
import { VqlModelError } from './errors.js';

const FORMAT = 'vql-ctr-model';
const VERSION = 1;

export interface ExportResult {
  /** SHA-256 of every weight (`model.fingerprint()`): what a per-user cache is bound to. */
  fingerprint: string;
  bytes: number;
}

/**
 * Writes a trained model to `dir` as tfjs's `model.json` (weights manifest, with the model
 * config and fingerprint in `meta`) + `weights.bin`. Refuses non-finite weights.
 */
export async function exportModel(model: CtrModel, dir: string, extraMeta: { [key: string]: JsonValue } = {}): Promise<ExportResult> {
  const fingerprint = model.fingerprint();
  const meta: { [key: string]: JsonValue } = {
    ...extraMeta,
    format: FORMAT,
    version: VERSION,
    config: model.config as unknown as JsonValue,
    fingerprint,
  };
  // Taken after fingerprint(): a VQL model's getWeights() copies are freed by the next call.
  const result = await saveWeights(dir, model.getWeights(), meta);
  if (result.fingerprint !== fingerprint) {
    throw new VqlModelError('FINGERPRINT_MISMATCH', `exportModel: weights changed while ${dir} was being written.`);
  }
  return result;
}

/** What `importModel` returns besides the model. */
export interface ImportResult {
  model: CtrModel;
  fingerprint: string;
  meta: { [key: string]: JsonValue };
}

/**
 * Rebuilds a model written by `exportModel`. Throws naming the file when it was not written by
 * `exportModel`, when its weights do not match the fingerprint it records, or (with
 * `expectedFingerprint`) when it is not the model the caller expects.
 */
export async function importModel(dir: string, options: { expectedFingerprint?: string } = {}): Promise<ImportResult> {
  checkKnownKeys('importModel: options', options, ['expectedFingerprint'], (m) => new VqlModelError('UNKNOWN_OPTION', m));
  const loaded = await loadWeights(dir);
  try {
    const meta = loaded.meta;
    if (meta['format'] !== FORMAT || meta['version'] !== VERSION || meta['config'] === null || typeof meta['config'] !== 'object') {
      throw new VqlModelError(
        'CORRUPT_FILE',
        `importModel: ${dir}/model.json was not written by exportModel (meta.format = ${JSON.stringify(meta['format'])}, version ${JSON.stringify(meta['version'])}).`,
      );
    }
    if (meta['fingerprint'] !== loaded.fingerprint) {
      throw new VqlModelError('FINGERPRINT_MISMATCH', `importModel: the weights in ${dir}/weights.bin do not match the fingerprint recorded in ${dir}/model.json.`);
    }
    if (options.expectedFingerprint !== undefined && options.expectedFingerprint !== loaded.fingerprint) {
      throw new VqlModelError(
        'FINGERPRINT_MISMATCH',
        `importModel: ${dir} holds weights ${loaded.fingerprint.slice(0, 12)}…, expected ${options.expectedFingerprint.slice(0, 12)}….`,
      );
    }
    const model = new CtrModel(meta['config'] as unknown as CtrModelConfig);
    try {
      model.setWeights(loaded.tensors);
      const fingerprint = model.fingerprint();
      if (fingerprint !== loaded.fingerprint) {
        throw new VqlModelError('FINGERPRINT_MISMATCH', `importModel: the model rebuilt from ${dir} has fingerprint ${fingerprint.slice(0, 12)}…, not the stored ${loaded.fingerprint.slice(0, 12)}….`);
      }
      return { model, fingerprint, meta };
    } catch (err) {
      model.dispose();
      throw err;
    }
  } finally {
    tf.dispose(Object.values(loaded.tensors));
  }
}
