import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { VqlModelError } from './errors.js';
import { workerEntry } from './worker-entry.js';
import type { CausalCacheOptions, ScanGrads } from './causal-scan.js';

/** Inputs of one scan, in shared memory (every typed array views a SharedArrayBuffer). */
export interface ScanInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  bias: Float32Array | null;
  logRate: Float64Array | null;
  logBeta: Float64Array | null;
  U: number;
  options: CausalCacheOptions;
}

export type ScanJob =
  | { kind: 'forward'; token: number; inputs: ScanInputs; u0: number; u1: number; out: Float64Array }
  | { kind: 'backward'; token: number; gr: Float32Array; u0: number; u1: number; grads: ScanGrads }
  | { kind: 'stop' };

export interface ScanWorkerInit {
  control: SharedArrayBuffer;
}

interface PoolWorker {
  worker: Worker;
  ctrl: Int32Array;
  jobs: MessagePort;
  replies: MessagePort;
  posted: number;
}

let threads = parseThreads(process.env['VQL_SCAN_THREADS'] ?? '1', 'VQL_SCAN_THREADS');
let pool: PoolWorker[] = [];

function parseThreads(value: unknown, where: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new VqlModelError('INVALID_ARGUMENT', `${where} must be an integer in 1..64 (threads of the causal-cache scan), got ${JSON.stringify(value)}.`);
  }
  return n;
}

/**
 * Threads the causal-cache scan (whole-history VQL training) splits its users over; 1 (the
 * default, or env VQL_SCAN_THREADS) runs on the calling thread. Users are independent, so
 * each thread scans a contiguous range of them and the gradient sums are added in thread order:
 * the same thread count gives the same numbers, and any count equals one thread up to rounding.
 */
export function setCausalScanThreads(n: number): void {
  threads = parseThreads(n, 'setCausalScanThreads(n)');
}

export function causalScanThreads(): number {
  return threads;
}

function startWorker(): PoolWorker {
  const entry = workerEntry('causal-scan-worker');
  const control = new SharedArrayBuffer(16);
  const ctrl = new Int32Array(control);
  const jobs = new MessageChannel();
  const replies = new MessageChannel();
  const worker = new Worker(entry.script, {
    eval: entry.eval,
    execArgv: entry.execArgv,
    workerData: { control, jobs: jobs.port2, replies: replies.port2 },
    transferList: [jobs.port2, replies.port2],
  });
  worker.unref();
  // The worker thread starts on its own: block until it reports ready (or fails to).
  if (Atomics.wait(ctrl, 2, 0, 60_000) === 'timed-out' && Atomics.load(ctrl, 2) === 0) {
    void worker.terminate();
    throw new VqlModelError('WORKER_FAILED', 'causal-cache scan: a worker thread did not start within 60 s.');
  }
  return { worker, ctrl, jobs: jobs.port1, replies: replies.port1, posted: 0 };
}

function ensurePool(n: number): PoolWorker[] {
  if (pool.length === n) return pool;
  for (const w of pool) {
    w.jobs.postMessage({ kind: 'stop' });
    Atomics.add(w.ctrl, 0, 1);
    Atomics.notify(w.ctrl, 0);
  }
  pool = Array.from({ length: n }, startWorker);
  return pool;
}

/** Runs job i on worker i of a pool of `size` threads and blocks until all are done; throws the first worker error. */
export function runScanJobs(jobs: ScanJob[], size: number): void {
  const workers = ensurePool(size);
  jobs.forEach((job, i) => {
    const w = workers[i]!;
    w.jobs.postMessage(job);
    w.posted = Atomics.add(w.ctrl, 0, 1) + 1;
    Atomics.notify(w.ctrl, 0);
  });
  let failure: string | null = null;
  for (const w of workers.slice(0, jobs.length)) {
    for (;;) {
      const done = Atomics.load(w.ctrl, 1);
      if (done === w.posted) break;
      Atomics.wait(w.ctrl, 1, done, 1000);
    }
    const reply = receiveMessageOnPort(w.replies)?.message as { ok: boolean; error?: string } | undefined;
    if (reply?.ok !== true && failure === null) failure = reply?.error ?? 'no reply';
  }
  if (failure !== null) throw new VqlModelError('WORKER_FAILED', `causal-cache scan worker failed: ${failure}`);
}

/** A typed array of `n` elements in fresh shared memory, filled from `src` when given. */
export function sharedArray<T extends Float32Array | Float64Array | Int32Array>(ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number, src?: ArrayLike<number>): T {
  const out = new ctor(new SharedArrayBuffer(Math.max(1, n) * ctor.BYTES_PER_ELEMENT));
  const view = n === out.length ? out : (out.subarray(0, n) as T);
  if (src !== undefined) view.set(src);
  return view;
}

/** Contiguous user ranges of about equal cost, one per thread (fewer when there are fewer users). */
export function splitUsers(costs: Float64Array, parts: number): Array<[number, number]> {
  const n = costs.length;
  let total = 0;
  for (const c of costs) total += c;
  const out: Array<[number, number]> = [];
  let start = 0;
  let acc = 0;
  for (let p = 1; p <= parts && start < n; p++) {
    if (p === parts) {
      out.push([start, n]);
      break;
    }
    let end = start;
    while (end < n && (acc + costs[end]! <= (total * p) / parts || end === start)) acc += costs[end++]!;
    out.push([start, end]);
    start = end;
  }
  return out;
}
