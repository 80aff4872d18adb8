// One replica of data-parallel training (data-parallel.ts): builds the model from the main
// thread's config, then per job reads the main model's weights from shared memory (when their
// version changed), computes the gradient of its shard's mean loss and writes it to shared memory.
import { heapView, initBackend, tensorCopyOf, tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CtrModel } from './ctr-model.js';
import { CTRL, flatLayout, gradientEntries, localGradients, sameLayout, weightEntries } from './data-parallel.js';
import type { DataParallelJob, DataParallelWorkerInit } from './data-parallel.js';
import type { BackendName } from '@vql/runtime';

const init = workerData as DataParallelWorkerInit;
const ctrl = new Int32Array(init.control);
const weights = new Float32Array(init.weights);
const grads = new Float32Array(init.grads);
const stats = new Float64Array(init.stats);
const present = new Int32Array(init.present);

function fail(error: unknown): void {
  init.replies.postMessage({ ok: false, error: (error as Error).stack ?? String(error) });
}

let model: CtrModel | null = null;
try {
  await initBackend({ backend: init.backend as BackendName });
  model = new CtrModel(init.config);
  if (!sameLayout(flatLayout(weightEntries(model)), init.weightLayout) || !sameLayout(flatLayout(gradientEntries(model.trainableVariables())), init.gradLayout)) {
    throw new Error('the replica built from the model config has other weights than the main model.');
  }
  Atomics.store(ctrl, CTRL.ready, 1);
} catch (error) {
  fail(error);
  Atomics.store(ctrl, CTRL.ready, 2);
}
Atomics.notify(ctrl, CTRL.ready);

let version = -1;
let seen = 0;
while (model !== null) {
  Atomics.wait(ctrl, CTRL.posted, seen);
  seen = Atomics.load(ctrl, CTRL.posted);
  const job = receiveMessageOnPort(init.jobs)?.message as (DataParallelJob & { stop?: boolean }) | undefined;
  if (job === undefined || job.stop === true) break;
  try {
    if (job.version !== version) {
      const { names, shapes, offsets } = init.weightLayout;
      const record: Record<string, Tensor> = {};
      names.forEach((name, i) => {
        const n = shapes[i]!.reduce((a, b) => a * b, 1);
        record[name] = tensorCopyOf(weights.subarray(offsets[i]!, offsets[i]! + n), shapes[i]!);
      });
      try {
        model.setWeights(record);
      } finally {
        tf.dispose(Object.values(record));
      }
      version = job.version;
    }
    const vars = model.trainableVariables();
    const g = localGradients(model, job.batch, vars, { interestTraining: false });
    try {
      vars.forEach((v, i) => {
        const t = g.grads[v.name];
        present[i] = t === undefined ? 0 : 1;
        if (t !== undefined) grads.set(heapView(t) ?? (t.dataSync() as Float32Array), init.gradLayout.offsets[i]!);
      });
      stats[0] = g.loss;
      stats[1] = g.bce;
      stats[2] = g.aux;
    } finally {
      tf.dispose(Object.values(g.grads));
    }
    init.replies.postMessage({ ok: true });
  } catch (error) {
    fail(error);
  }
  Atomics.store(ctrl, CTRL.done, seen);
  Atomics.notify(ctrl, CTRL.done);
}
