import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Writes `text` to `path` (gzip-compressed when the path ends in `.gz`), creating folders. */
export function writeFixture(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, path.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}
