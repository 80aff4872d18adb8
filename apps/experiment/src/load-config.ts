import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { DatasetName, ExperimentConfig, MethodName } from './config.js';
import { DATASET_NAMES, METHOD_NAMES, mergeConfig, parseExperimentConfig } from './config.js';
import { ExperimentConfigError } from './errors.js';
import { resolveUserPath } from './paths.js';
import { PRESETS, PRESET_NAMES } from './presets.js';
import type { PresetName } from './presets.js';

export interface ConfigFlags {
  preset?: string;
  config?: string;
  seed?: string;
  seeds?: string;
  methods?: string;
  datasets?: string;
  backend?: string;
  /** The user's event log and its schema: replace the configured datasets with it. */
  events?: string;
  schema?: string;
  /** A reczoo/LongCTR Parquet folder: replace the configured datasets with it. */
  longctr?: string;
}

function preset(name: string, where: string): ExperimentConfig {
  if (!(PRESET_NAMES as string[]).includes(name)) {
    throw new ExperimentConfigError('UNKNOWN_PRESET', `${where}: unknown preset "${name}"; known presets: ${PRESET_NAMES.join(', ')}.`);
  }
  return PRESETS[name as PresetName];
}

function list<T extends string>(flag: string, value: string, known: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ExperimentConfigError('INVALID_FLAG', `${flag}: empty list.`);
  for (const item of items) {
    if (!(known as readonly string[]).includes(item)) {
      throw new ExperimentConfigError('INVALID_FLAG', `${flag}: unknown ${what} "${item}"; known: ${known.join(', ')}.`);
    }
  }
  return items as T[];
}

function integers(flag: string, value: string): number[] {
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0) throw new ExperimentConfigError('INVALID_FLAG', `${flag}: "${s}" is not a non-negative integer.`);
    return n;
  });
}

/**
 * Preset (default `quick`), then a JSON config file (which may name its base with
 * `"extends": "<preset>"`), then flags; the result is validated as a whole.
 */
export function loadConfig(flags: ConfigFlags): ExperimentConfig {
  let base: unknown = preset(flags.preset ?? 'quick', '--preset');
  let source = `preset "${flags.preset ?? 'quick'}"`;
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (error) {
      throw new ExperimentConfigError('CONFIG_NOT_FOUND', `--config ${flags.config}: ${(error as Error).message}`);
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ExperimentConfigError('CONFIG_NOT_JSON', `--config ${flags.config}: not valid JSON (${(error as Error).message}).`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ExperimentConfigError('INVALID_CONFIG', `--config ${flags.config}: must hold a JSON object.`);
    }
    const { extends: ext, ...rest } = parsed;
    if (ext !== undefined) {
      if (typeof ext !== 'string') throw new ExperimentConfigError('INVALID_CONFIG', `--config ${flags.config}: config.extends must be a preset name.`);
      base = preset(ext, `${flags.config}: config.extends`);
    }
    base = mergeConfig(base, resolveDatasetPaths(rest, flags.config));
    source = `config ${flags.config}`;
  }
  const overrides: Record<string, unknown> = {};
  if (flags.seed !== undefined) overrides['seeds'] = integers('--seed', flags.seed);
  if (flags.seeds !== undefined) overrides['seeds'] = integers('--seeds', flags.seeds);
  if (flags.methods !== undefined) overrides['methods'] = list<MethodName>('--methods', flags.methods, METHOD_NAMES, 'method');
  if (flags.backend !== undefined) overrides['backend'] = list('--backend', flags.backend, ['wasm', 'cpu'], 'backend')[0];
  let merged = mergeConfig(base, overrides) as Record<string, unknown>;
  if (flags.datasets !== undefined) {
    const wanted = list<DatasetName>('--datasets', flags.datasets, DATASET_NAMES, 'dataset');
    const configured = (merged['datasets'] as Array<{ name: string }> | undefined) ?? [];
    const missing = wanted.filter((w) => !configured.some((d) => d.name === w));
    if (missing.length > 0) {
      throw new ExperimentConfigError('INVALID_FLAG', `--datasets: "${missing.join('", "')}" is not configured in ${source}; configured: ${configured.map((d) => d.name).join(', ')}.`);
    }
    merged = { ...merged, datasets: configured.filter((d) => (wanted as string[]).includes(d.name)) };
  }
  merged = withUserData(merged, flags, source);
  return parseExperimentConfig(merged, source);
}

type DatasetEntry = { name: string; maxLen?: unknown; maxTrainSamples?: unknown; maxEvalSamples?: unknown; events?: { file: string; schema: string }; longctr?: { dir: string } };

/**
 * `--events FILE --schema FILE` / `--longctr DIR`: the run uses the user's data instead of the
 * configured datasets, sized like the config's first real dataset (L and sample caps).
 */
function withUserData(merged: Record<string, unknown>, flags: ConfigFlags, source: string): Record<string, unknown> {
  if (flags.schema !== undefined && flags.events === undefined) throw new ExperimentConfigError('INVALID_FLAG', '--schema: give the event log with --events FILE.');
  if (flags.events === undefined && flags.longctr === undefined) return merged;
  if (flags.events !== undefined && flags.longctr !== undefined) throw new ExperimentConfigError('INVALID_FLAG', '--events and --longctr: give one of them.');
  if (flags.events !== undefined && flags.schema === undefined) {
    throw new ExperimentConfigError('INVALID_FLAG', '--events: the schema file is missing; add --schema FILE (see the @vql/data README, "Bring your own events").');
  }
  if (flags.datasets !== undefined) throw new ExperimentConfigError('INVALID_FLAG', '--datasets cannot be combined with --events / --longctr (they replace the datasets).');
  const configured = (merged['datasets'] as DatasetEntry[] | undefined) ?? [];
  const like = configured.find((d) => d.name !== 'synthetic') ?? configured[0];
  if (like === undefined) throw new ExperimentConfigError('INVALID_CONFIG', `${source} has no dataset to size the user's data by.`);
  const sizing = Object.fromEntries(Object.entries({ maxLen: like.maxLen, maxTrainSamples: like.maxTrainSamples, maxEvalSamples: like.maxEvalSamples }).filter(([, v]) => v !== undefined));
  const entry: DatasetEntry =
    flags.events !== undefined
      ? { name: 'events', ...sizing, events: { file: resolveUserPath(flags.events), schema: resolveUserPath(flags.schema!) } }
      : { name: 'longctr', ...sizing, longctr: { dir: resolveUserPath(flags.longctr!) } };
  return { ...merged, datasets: [entry] };
}

/** Paths of user datasets in a config file are relative to that file. */
function resolveDatasetPaths(config: Record<string, unknown>, file: string): Record<string, unknown> {
  const datasets = config['datasets'];
  if (!Array.isArray(datasets)) return config;
  const base = dirname(resolveUserPath(file));
  const abs = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p);
  return {
    ...config,
    datasets: datasets.map((d: unknown) => {
      if (d === null || typeof d !== 'object') return d;
      const e = d as DatasetEntry;
      if (e.events !== undefined && typeof e.events === 'object') return { ...e, events: { ...e.events, file: abs(e.events.file), schema: abs(e.events.schema) } };
      if (e.longctr !== undefined && typeof e.longctr === 'object') return { ...e, longctr: { ...e.longctr, dir: abs(e.longctr.dir) } };
      return e;
    }),
  };
}
