// One thread of the causal-cache scan pool (causal-scan-pool.ts): waits on shared memory for a
// job, runs the forward or backward scan over its range of users, writes into shared buffers.
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { CausalScan } from './causal-scan.js';
import type { ScanJob, ScanWorkerInit } from './causal-scan-pool.js';

const { control, jobs, replies } = workerData as ScanWorkerInit & { jobs: MessagePort; replies: MessagePort };
const ctrl = new Int32Array(control); // [0] jobs posted, [1] jobs done, [2] ready
// The scan of the latest forward job, kept for its backward (matched by token).
let scan: CausalScan | null = null;
let token = -1;
Atomics.store(ctrl, 2, 1);
Atomics.notify(ctrl, 2);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  const job = receiveMessageOnPort(jobs)?.message as ScanJob | undefined;
  if (job === undefined || job.kind === 'stop') break;
  try {
    if (job.kind === 'forward') {
      const i = job.inputs;
      scan = new CausalScan(i.q, i.k, i.v, i.bias, i.logRate, i.logBeta, i.U, i.options);
      token = job.token;
      job.out.set(scan.forward(job.u0, job.u1));
    } else {
      if (scan === null || token !== job.token) throw new Error(`causal scan worker: the backward of forward #${job.token} came after another forward (#${token}); run each backward before the next forward.`);
      const g = scan.newGrads();
      scan.backward(job.gr, g, job.u0, job.u1);
      for (const key of ['dq', 'dk', 'dv', 'db', 'dLambda', 'dLogBeta'] as const) job.grads[key].set(g[key]);
      scan = null;
    }
    replies.postMessage({ ok: true });
  } catch (error) {
    replies.postMessage({ ok: false, error: (error as Error).stack ?? String(error) });
  }
  Atomics.store(ctrl, 1, seen);
  Atomics.notify(ctrl, 1);
}
