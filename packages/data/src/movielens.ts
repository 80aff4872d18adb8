import { join } from 'node:path';
import { checkColumnCount, columnIndex, parseId, parseNumber, readCsvRows, resolveDataFile } from './csv.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { CleaningOptions } from './event-table-builder.js';
import type { EventTable } from './types.js';

export interface MovieLensOptions {
  /** Folder holding `ratings.csv[.gz]` and `movies.csv[.gz]`. */
  dir?: string;
  ratingsFile?: string;
  moviesFile?: string;
  /** rating >= threshold → label 1; default 4. */
  labelThreshold?: number;
  cleaning?: CleaningOptions;
}

export function movieLensFiles(options: MovieLensOptions): { ratings: string; movies: string } {
  const dir = options.dir;
  if (options.ratingsFile === undefined && dir === undefined) {
    throw new VqlDataError('INVALID_ARGUMENT', 'readMovieLens: give options.dir or options.ratingsFile.');
  }
  const ratings = options.ratingsFile ?? resolveDataFile(dir!, 'ratings.csv');
  const movies = options.moviesFile ?? resolveDataFile(dir ?? join(ratings, '..'), 'movies.csv');
  return { ratings, movies };
}

/**
 * MovieLens (ml-latest-small and the other `ratings.csv` + `movies.csv` releases): explicit
 * labels from the rating, genres as a multi-valued item feature. Titles are parsed by a real CSV
 * parser (they contain quoted commas) but not kept.
 */
export async function readMovieLens(options: MovieLensOptions): Promise<EventTable> {
  checkOptionKeys(options, ['dir', 'ratingsFile', 'moviesFile', 'labelThreshold', 'cleaning'], 'readMovieLens');
  const threshold = options.labelThreshold ?? 4;
  if (!Number.isFinite(threshold)) {
    throw new VqlDataError('INVALID_ARGUMENT', `readMovieLens: labelThreshold must be finite, got ${threshold}.`);
  }
  const files = movieLensFiles(options);

  const genresByMovie = new Map<number, string[]>();
  let width = 1;
  let header: string[] | null = null;
  let cols: Record<'movieId' | 'genres', number> | null = null;
  for await (const row of readCsvRows(files.movies)) {
    if (header === null) {
      header = row.fields;
      cols = columnIndex(header, ['movieId', 'genres'] as const, files.movies);
      continue;
    }
    checkColumnCount(row, header.length, files.movies);
    const movie = parseId(row.fields[cols!.movieId], { file: files.movies, line: row.line, column: 'movieId' });
    const genres = (row.fields[cols!.genres] ?? '').split('|').filter((g) => g !== '');
    genresByMovie.set(movie, genres);
    width = Math.max(width, genres.length);
  }

  const builder = new EventTableBuilder('movielens', [{ name: 'genres', kind: 'multi', scope: 'item', width }], true);
  builder.setSourceFile(files.ratings);
  header = null;
  let rc: Record<'userId' | 'movieId' | 'rating' | 'timestamp', number> | null = null;
  const ids = new Array<number>(width);
  for await (const row of readCsvRows(files.ratings)) {
    if (header === null) {
      header = row.fields;
      rc = columnIndex(header, ['userId', 'movieId', 'rating', 'timestamp'] as const, files.ratings);
      continue;
    }
    checkColumnCount(row, header.length, files.ratings);
    const f = row.fields;
    const at = (column: string) => ({ file: files.ratings, line: row.line, column });
    const user = parseId(f[rc!.userId], at('userId'));
    const movie = parseId(f[rc!.movieId], at('movieId'));
    const rating = parseNumber(f[rc!.rating], at('rating'));
    const time = parseNumber(f[rc!.timestamp], at('timestamp'));
    builder.addEvent(user, movie, time, rating >= threshold ? 1 : 0, row.line);
    const genres = genresByMovie.get(movie);
    if (genres !== undefined) {
      ids.fill(0);
      for (let g = 0; g < genres.length; g++) ids[g] = builder.intern('genres', genres[g]!);
      builder.setItemFeature(movie, 'genres', ids);
    }
  }
  return builder.build(options.cleaning);
}
