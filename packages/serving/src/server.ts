import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { createServingApp } from './app.js';
import type { ServingLimits } from './app.js';
import { isComplete } from './build.js';
import { ModelLifecycle } from './lifecycle.js';
import { ServingMetrics } from './metrics.js';
import { ServedModel } from './served-model.js';
import { describeStore } from './stores.js';
import type { StoreSpec } from './stores.js';

export interface ServeOptions {
  modelDir: string;
  spec: StoreSpec;
  host?: string;
  port?: number;
  limits?: ServingLimits;
  logger?: FastifyBaseLogger;
  /** A Redis command with no reply after this long fails (→ 503). Default 1000 ms. */
  storeTimeoutMs?: number;
  /** Enables `POST /v1/admin/model`: given the lifecycle, how to switch to a model directory. */
  switchModel?: (lifecycle: ModelLifecycle) => (dir: string) => Promise<{ model: string; previous: string | undefined }>;
}

export interface RunningService {
  app: FastifyInstance;
  lifecycle: ModelLifecycle;
  metrics: ServingMetrics;
  /** `http://host:port`. */
  url: string;
  /** Stops accepting connections, lets in-flight requests finish, then closes the model and its store. */
  drain(): Promise<void>;
}

/** Loads the model, opens its caches and listens; `drain()` is what SIGTERM runs. */
export async function startService(options: ServeOptions): Promise<RunningService> {
  const served = await ServedModel.load(options.modelDir, options.spec, { commandTimeoutMs: options.storeTimeoutMs ?? 1000 });
  const lifecycle = new ModelLifecycle(served);
  const metrics = new ServingMetrics();
  const app = createServingApp({ lifecycle, metrics, ...(options.limits === undefined ? {} : { limits: options.limits }), ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.switchModel === undefined ? {} : { switchModel: options.switchModel(lifecycle) }),
  });
  if (!(await isComplete(options.spec, served.version).catch(() => false))) {
    app.log.warn({ model: served.version, store: describeStore(options.spec) }, 'no complete cache build is recorded for this model: users without a cache score as an empty history (run `vql-serve build`)');
  }
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
  app.log.info({ model: served.version, store: describeStore(options.spec), address }, 'serving');
  let drained: Promise<void> | undefined;
  return {
    app,
    lifecycle,
    metrics,
    url: address,
    drain: () =>
      (drained ??= (async () => {
        await app.close(); // waits for in-flight requests; new ones are refused (503 while closing)
        await lifecycle.close();
      })()),
  };
}
