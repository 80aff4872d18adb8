import { basename } from 'node:path';
import { checkColumnCount, columnIndex, parseId, parseNumber, readCsvRows, resolveDataFile } from './csv.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { CleaningOptions, FeatureDecl } from './event-table-builder.js';
import type { EventTable } from './types.js';

/** Play-time / duration buckets for the `play_ratio` event feature. */
export const PLAY_RATIO_BOUNDARIES = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 4];

interface VideoFeatures {
  type: Map<number, string>;
  tags: Map<number, string[]>;
  width: number;
}

/** Reads official `video_features_basic_*.csv`: `video_type` and the comma-separated `tag` ids. */
async function readVideoFeatures(file: string): Promise<VideoFeatures> {
  const out: VideoFeatures = { type: new Map(), tags: new Map(), width: 1 };
  let header: string[] | null = null;
  let cols: Record<'video_id' | 'video_type' | 'tag', number> | null = null;
  for await (const row of readCsvRows(file)) {
    if (header === null) {
      header = row.fields;
      cols = columnIndex(header, ['video_id', 'video_type', 'tag'] as const, file);
      continue;
    }
    checkColumnCount(row, header.length, file);
    const video = parseId(row.fields[cols!.video_id], { file, line: row.line, column: 'video_id' });
    const type = row.fields[cols!.video_type]!.trim();
    if (type !== '') out.type.set(video, type);
    const tags = row.fields[cols!.tag]!.split(',').map((t) => t.trim()).filter((t) => t !== '');
    for (const t of tags) parseId(t, { file, line: row.line, column: 'tag' });
    out.tags.set(video, tags);
    out.width = Math.max(out.width, tags.length);
  }
  return out;
}

function videoDecls(video: VideoFeatures | null): FeatureDecl[] {
  return video === null
    ? []
    : [
        { name: 'video_type', kind: 'categorical', scope: 'item' },
        { name: 'tag', kind: 'multi', scope: 'item', width: video.width },
      ];
}

function applyVideoFeatures(builder: EventTableBuilder, video: VideoFeatures | null, id: number, scratch: number[]): void {
  if (video === null) return;
  const type = video.type.get(id);
  if (type !== undefined) builder.setItemFeature(id, 'video_type', builder.intern('video_type', type));
  const tags = video.tags.get(id);
  if (tags !== undefined) {
    scratch.fill(0);
    for (let k = 0; k < tags.length; k++) scratch[k] = builder.intern('tag', tags[k]!);
    builder.setItemFeature(id, 'tag', scratch);
  }
}

interface LogReadSpec {
  name: string;
  files: string[];
  delimiter: string;
  /** Column holding the 0/1 label. */
  labelColumn: string;
  videoFeaturesFile: string | undefined;
  cleaning: CleaningOptions | undefined;
}

const LOG_COLUMNS = ['user_id', 'video_id', 'time_ms', 'is_click', 'long_view', 'play_time_ms', 'duration_ms'] as const;

/** Shared by the like/hate subset and the official `log_standard_*` / `log_random_*` files. */
async function readKuaiRandLogs(spec: LogReadSpec): Promise<EventTable> {
  const video = spec.videoFeaturesFile === undefined ? null : await readVideoFeatures(spec.videoFeaturesFile);
  const builder = new EventTableBuilder(
    spec.name,
    [
      ...videoDecls(video),
      { name: 'duration', kind: 'numeric', scope: 'item', boundaries: [5, 10, 20, 30, 60, 120, 300] },
      { name: 'is_click', kind: 'categorical', scope: 'event' },
      { name: 'long_view', kind: 'categorical', scope: 'event' },
      { name: 'play_ratio', kind: 'numeric', scope: 'event', boundaries: PLAY_RATIO_BOUNDARIES },
    ],
    true,
  );
  const scratch = new Array<number>(video?.width ?? 1).fill(0);
  const ev = [0, 0, 0];
  for (const file of spec.files) {
    builder.setSourceFile(file);
    let header: string[] | null = null;
    type Cols = Record<(typeof LOG_COLUMNS)[number] | 'label', number>;
    let c: Cols | null = null;
    for await (const row of readCsvRows(file, { delimiter: spec.delimiter })) {
      if (header === null) {
        header = row.fields;
        const cols = columnIndex(header, [...LOG_COLUMNS, spec.labelColumn], file);
        c = { ...(cols as Record<string, number> as Cols), label: (cols as Record<string, number>)[spec.labelColumn]! };
        continue;
      }
      checkColumnCount(row, header.length, file);
      const f = row.fields;
      const at = (column: string) => ({ file, line: row.line, column });
      const user = parseId(f[c!.user_id], at('user_id'));
      const item = parseId(f[c!.video_id], at('video_id'));
      const time = parseNumber(f[c!.time_ms], at('time_ms')) / 1000;
      const label = parseNumber(f[c!.label], at(spec.labelColumn));
      if (label !== 0 && label !== 1) {
        throw new VqlDataError('BAD_VALUE', `${basename(file)}:${row.line} column "${spec.labelColumn}": expected 0 or 1, got "${f[c!.label]}".`);
      }
      const play = parseNumber(f[c!.play_time_ms], at('play_time_ms'));
      const duration = parseNumber(f[c!.duration_ms], at('duration_ms'));
      ev[0] = builder.intern('is_click', String(parseId(f[c!.is_click], at('is_click'))));
      ev[1] = builder.intern('long_view', String(parseId(f[c!.long_view], at('long_view'))));
      // duration 0 marks an unknown duration in KuaiRand: no ratio rather than an infinity.
      ev[2] = duration > 0 ? play / duration : 0;
      builder.addEvent(user, item, time, label, row.line, ev);
      if (duration > 0) builder.setItemFeature(item, 'duration', duration / 1000);
      applyVideoFeatures(builder, video, item, scratch);
    }
  }
  return builder.build(spec.cleaning);
}

export interface KuaiRandLikeHateOptions {
  /** Folder with `likehate_standard_kcore15.tsv[.gz]` and `video_features_basic_pure.csv[.gz]`. */
  dir?: string;
  file?: string;
  /** Official video features; default: the one in `dir` when present; `null` to skip. */
  videoFeaturesFile?: string | null;
  cleaning?: CleaningOptions;
}

/**
 * The KuaiRand-27K like/hate subset (TSV, label = like 1 / hate 0). Rows are not time-ordered
 * inside a user; the table sorts them by `time_ms` (stable).
 */
export async function readKuaiRandLikeHate(options: KuaiRandLikeHateOptions): Promise<EventTable> {
  checkOptionKeys(options, ['dir', 'file', 'videoFeaturesFile', 'cleaning'], 'readKuaiRandLikeHate');
  if (options.file === undefined && options.dir === undefined) {
    throw new VqlDataError('INVALID_ARGUMENT', 'readKuaiRandLikeHate: give options.dir or options.file.');
  }
  const file = options.file ?? resolveDataFile(options.dir!, 'likehate_standard_kcore15.tsv');
  let videoFeaturesFile: string | undefined;
  if (options.videoFeaturesFile !== undefined) videoFeaturesFile = options.videoFeaturesFile ?? undefined;
  else if (options.dir !== undefined) {
    try {
      videoFeaturesFile = resolveDataFile(options.dir, 'video_features_basic_pure.csv');
    } catch {
      videoFeaturesFile = undefined;
    }
  }
  return readKuaiRandLogs({ name: 'kuairand', files: [file], delimiter: '\t', labelColumn: 'label', videoFeaturesFile, cleaning: options.cleaning });
}

export interface KuaiRandLogOptions {
  /** Official `log_standard_*.csv` (and/or `log_random_*.csv`) files, read in order. */
  logFiles: string[];
  /** Official `video_features_basic_*.csv`. */
  videoFeaturesFile?: string;
  /** Label column; default `is_click` (`is_like`, `long_view`, ... also work). */
  labelColumn?: string;
  cleaning?: CleaningOptions;
}

/** The official KuaiRand-1K / Pure / 27K logs (comma-separated, with header). */
export async function readKuaiRandLog(options: KuaiRandLogOptions): Promise<EventTable> {
  checkOptionKeys(options, ['logFiles', 'videoFeaturesFile', 'labelColumn', 'cleaning'], 'readKuaiRandLog');
  if (!Array.isArray(options.logFiles) || options.logFiles.length === 0) {
    throw new VqlDataError('INVALID_ARGUMENT', 'readKuaiRandLog: options.logFiles must list at least one file.');
  }
  return readKuaiRandLogs({
    name: 'kuairand-log',
    files: options.logFiles,
    delimiter: ',',
    labelColumn: options.labelColumn ?? 'is_click',
    videoFeaturesFile: options.videoFeaturesFile,
    cleaning: options.cleaning,
  });
}

export function kuaiRandSubsetFiles(dir: string): string[] {
  const files = [resolveDataFile(dir, 'likehate_standard_kcore15.tsv')];
  try {
    files.push(resolveDataFile(dir, 'video_features_basic_pure.csv'));
  } catch {
    // optional side table
  }
  return files;
}

