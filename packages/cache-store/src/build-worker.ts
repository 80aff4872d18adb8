// Worker thread of `buildAllCaches`: loads the exported model once, then turns user ids into
// encoded caches. Runs from dist (ESM .js) or, in development and tests, from source through tsx.
import { parentPort, workerData } from 'node:worker_threads';
import { importModel } from '@vql/model';
import { initBackend } from '@vql/runtime';
import { CtrCacheModel } from './cache-model.js';
import { buildUserCache } from './cached-scorer.js';
import { encodeCache } from './codec.js';
import { userHistory } from './history-table.js';
import type { EventTableView } from '@vql/data';

export interface WorkerInit {
  modelDir: string;
  table: EventTableView;
  ignoreHistoryWindow: boolean;
  /** `now` fixed by the caller (functions cannot be posted). */
  timeBounds: { earliest: number; maxFutureSkew: number; now: number };
}
export type WorkerRequest = { users: number[] };
export type WorkerReply =
  | { kind: 'ready'; fingerprint: string }
  | { kind: 'done'; results: Array<{ user: number; blob: Uint8Array; events: number }>; failed: Array<{ user: number; reason: string; events: number }> }
  | { kind: 'error'; message: string; code?: string | undefined };

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  try {
    await initBackend();
    const { model } = await importModel(init.modelDir);
    const { earliest, maxFutureSkew, now } = init.timeBounds;
    const cm = new CtrCacheModel(model, { ignoreHistoryWindow: init.ignoreHistoryWindow, timeBounds: { earliest, maxFutureSkew, now: () => now } });
    model.dispose(); // the cache model holds its own snapshot
    port.postMessage({ kind: 'ready', fingerprint: cm.fingerprint } satisfies WorkerReply);
    port.on('message', (req: WorkerRequest) => {
      try {
        const results: Array<{ user: number; blob: Uint8Array; events: number }> = [];
        const failed: Array<{ user: number; reason: string; events: number }> = [];
        for (const u of req.users) {
          const history = userHistory(init.table, u);
          try {
            results.push({ user: u, blob: encodeCache(buildUserCache(cm, history)), events: history.items.length });
          } catch (error) {
            // Bad input of one user (e.g. a millisecond timestamp) is reported, not fatal for the run.
            if ((error as { code?: string }).code !== 'INVALID_TIME' && (error as { code?: string }).code !== 'INVALID_ARGUMENT') throw error;
            failed.push({ user: u, reason: (error as Error).message, events: history.items.length });
          }
        }
        port.postMessage({ kind: 'done', results, failed } satisfies WorkerReply, results.map((r) => r.blob.buffer as ArrayBuffer));
      } catch (error) {
        port.postMessage({ kind: 'error', message: (error as Error).message, code: (error as { code?: string }).code } satisfies WorkerReply);
      }
    });
  } catch (error) {
    port.postMessage({ kind: 'error', message: (error as Error).message, code: (error as { code?: string }).code } satisfies WorkerReply);
  }
}

if (parentPort !== null) void main();
