import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from './tf.js';
import type { Tensor } from './tf.js';
import { VqlRuntimeError } from './errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Named tensors; the iteration order of the record is the order in `weights.bin`. */
export type NamedTensors = Record<string, Tensor>;

export interface LoadedWeights {
  tensors: NamedTensors;
  meta: { [key: string]: JsonValue };
  /** `weightsFingerprint` of the loaded tensors. */
  fingerprint: string;
}

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const FORMAT = 'vql-weights';
const SUPPORTED_DTYPES = new Set(['float32', 'int32', 'bool']);

function checkTensors(tensors: NamedTensors, where: string): Array<[string, Tensor]> {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (!(t instanceof tf.Tensor)) {
      throw new VqlRuntimeError('INVALID_ARGUMENT', `${where}: "${name}" is not a tfjs Tensor.`);
    }
    if (t.isDisposed) throw new VqlRuntimeError('INVALID_ARGUMENT', `${where}: tensor "${name}" is disposed.`);
    if (!SUPPORTED_DTYPES.has(t.dtype)) {
      throw new VqlRuntimeError('INVALID_ARGUMENT', `${where}: tensor "${name}" has unsupported dtype ${t.dtype}.`);
    }
  }
  return entries;
}

/**
 * SHA-256 over names, dtypes, shapes and raw bytes, in name order: a stable identity of the exact
 * weight values (the cache store refuses caches built by other weights).
 */
export function weightsFingerprint(tensors: NamedTensors): string {
  const hash = createHash('sha256');
  const entries = checkTensors(tensors, 'weightsFingerprint').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, t] of entries) {
    hash.update(`${name}|${t.dtype}|${t.shape.join('x')}|`);
    const data = t.dataSync();
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

/**
 * Writes `model.json` (tfjs weights-manifest layout plus `meta`) and `weights.bin` into `dir`.
 * Files are written to temporaries and renamed, so a crash never leaves a half-written pair.
 */
export async function saveWeights(
  dir: string,
  tensors: NamedTensors,
  meta: { [key: string]: JsonValue } = {},
): Promise<{ fingerprint: string; bytes: number }> {
  const entries = checkTensors(tensors, 'saveWeights');
  for (const [name, t] of entries) {
    if (t.dtype === 'float32') {
      const values = t.dataSync();
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) {
          throw new VqlRuntimeError('NON_FINITE_WEIGHTS', `saveWeights: tensor "${name}" has a non-finite value at flat index ${i}; refusing to write it.`);
        }
      }
    }
  }
  const { data, specs } = await tf.io.encodeWeights(Object.fromEntries(entries));
  const fingerprint = weightsFingerprint(tensors);
  const modelJson = {
    format: FORMAT,
    formatVersion: 1,
    generatedBy: '@vql/runtime',
    fingerprint,
    meta,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: specs }],
  };
  await mkdir(dir, { recursive: true });
  const bin = Buffer.from(data as ArrayBuffer);
  await writeFile(join(dir, `${WEIGHTS_BIN}.tmp`), bin);
  await writeFile(join(dir, `${MODEL_JSON}.tmp`), JSON.stringify(modelJson, null, 2));
  await rename(join(dir, `${WEIGHTS_BIN}.tmp`), join(dir, WEIGHTS_BIN));
  await rename(join(dir, `${MODEL_JSON}.tmp`), join(dir, MODEL_JSON));
  return { fingerprint, bytes: bin.byteLength };
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

/** Reads what `saveWeights` wrote. Throws with the file name when a file is missing or inconsistent. */
export async function loadWeights(dir: string): Promise<LoadedWeights> {
  const jsonPath = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (error) {
    throw new VqlRuntimeError('FILE_NOT_FOUND', `loadWeights: cannot read ${jsonPath}: ${(error as Error).message}`);
  }
  let parsed: {
    format?: unknown;
    meta?: { [key: string]: JsonValue };
    weightsManifest?: Array<{ paths: string[]; weights: WeightSpec[] }>;
  };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (error) {
    throw new VqlRuntimeError('CORRUPT_FILE', `loadWeights: ${jsonPath} is not valid JSON: ${(error as Error).message}`);
  }
  const manifest = parsed.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0) {
    throw new VqlRuntimeError('CORRUPT_FILE', `loadWeights: ${jsonPath} has no "weightsManifest" array.`);
  }
  const specs: WeightSpec[] = [];
  const buffers: Buffer[] = [];
  for (const group of manifest) {
    for (const path of group.paths) {
      const binPath = join(dir, path);
      try {
        buffers.push(await readFile(binPath));
      } catch (error) {
        throw new VqlRuntimeError('FILE_NOT_FOUND', `loadWeights: cannot read ${binPath}: ${(error as Error).message}`);
      }
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  let expected = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    expected += size * (spec.dtype === 'bool' ? 1 : 4);
  }
  if (expected !== all.byteLength) {
    throw new VqlRuntimeError(
      'CORRUPT_FILE',
      `loadWeights: ${join(dir, WEIGHTS_BIN)} holds ${all.byteLength} bytes but ${jsonPath} describes ${expected}.`,
    );
  }
  const buffer = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const tensors = tf.io.decodeWeights(buffer, specs as tf.io.WeightsManifestEntry[]) as NamedTensors;
  return { tensors, meta: parsed.meta ?? {}, fingerprint: weightsFingerprint(tensors) };
}
