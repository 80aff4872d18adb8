#!/usr/bin/env node
import { resolve } from 'node:path';
import { loadEventTable } from '@vql/data';
import { importModel } from '@vql/model';
import { initBackend } from '@vql/runtime';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { buildModelCaches } from './build.js';
import { enqueueBuild, startBuildWorker } from './build-queue.js';
import { switchModel } from './model-switch.js';
import { runDemo } from './demo.js';
import { startService } from './server.js';
import { ServedModel } from './served-model.js';
import { ModelLifecycle } from './lifecycle.js';
import { ServingMetrics } from './metrics.js';
import { StreamConsumer } from './stream-consumer.js';
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { describeStore, parseStoreSpec } from './stores.js';

const DEFAULT_STORE = 'lmdb:./vql-caches';

/** A result line on stdout (logs go to stderr). */
const out = (line: string): void => void process.stdout.write(`${line}\n`);

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(value)}.`);
    return n;
  };
}

const program = new Command('vql-serve').description('Scoring service over per-user VQL caches (@vql/serving).');

program
  .command('serve')
  .description('Serve a model over HTTP: POST /v1/score, /v1/score/batch, /v1/events; GET /healthz, /readyz, /metrics.')
  .requiredOption('--model <dir>', 'model directory written by exportModel (or `vql-serve demo`)')
  .option('--store <spec>', 'lmdb:<dir> (embedded, default), redis://host:port[/db], redis-cluster://host:port,host:port,…', DEFAULT_STORE)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'port', positiveInt('--port'), 8080)
  .option('--max-candidates <n>', 'candidates per request', positiveInt('--max-candidates'), 1000)
  .option('--body-limit <bytes>', 'request body limit', positiveInt('--body-limit'), 1 << 20)
  .option('--log-level <level>', 'pino level', 'info')
  .option('--stream <key>', 'also consume behaviour events from this Redis stream (consumer group)')
  .option('--stream-url <url>', 'Redis of the stream (default: the --store URL when it is Redis)')
  .option('--group <name>', 'consumer group', 'vql-serve')
  .option('--consumer <name>', 'consumer name (stable across restarts)', `${hostname()}-serve`)
  .option('--admin', 'enable POST /v1/admin/model { dir } (switch to another model once its caches are complete)')
  .option('--events <dir>', 'event table to build a new model version\'s caches from on a switch (else they must be built already)')
  .option('--processes <n>', 'replicas on this host sharing the port (node:cluster; the embedded LMDB store is shared)', positiveInt('--processes'), 1)
  .action(async (o: { model: string; store: string; host: string; port: number; maxCandidates: number; bodyLimit: number; logLevel: string; stream?: string; streamUrl?: string; group: string; consumer: string; admin?: boolean; events?: string; processes: number }) => {
    const logger = pino({ level: o.logLevel });
    if (o.processes > 1 && cluster.isPrimary) {
      // Stateless replicas: each loads the model and opens the store; SIGTERM drains every one.
      const workers = Array.from({ length: o.processes }, () => cluster.fork());
      const exited = workers.map((w) => new Promise<number>((r) => w.once('exit', (code) => r(code ?? 1))));
      const stop = () => workers.forEach((w) => w.process.kill('SIGTERM'));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      const codes = await Promise.all(exited);
      process.exit(codes.every((c) => c === 0) ? 0 : 1);
    }
    if (cluster.isWorker) o.consumer = `${o.consumer}-${cluster.worker!.id}`;
    await initBackend();
    const spec = parseStoreSpec(o.store);
    const table = o.events === undefined ? undefined : loadEventTable(resolve(o.events));
    const service = await startService({
      modelDir: resolve(o.model), spec, host: o.host, port: o.port, limits: { maxCandidates: o.maxCandidates, bodyLimit: o.bodyLimit }, logger,
      ...(o.admin === true ? { switchModel: (lifecycle: ModelLifecycle) => (dir: string) => switchModel(lifecycle, { modelDir: resolve(dir), spec, ...(table === undefined ? {} : { table }) }) } : {}),
    });
    let consumer: StreamConsumer | undefined;
    if (o.stream !== undefined) {
      const url = o.streamUrl ?? (spec.kind === 'redis' ? spec.url : undefined);
      if (url === undefined) throw new InvalidArgumentError('--stream needs --stream-url (the store is not Redis).');
      consumer = new StreamConsumer({ url, stream: o.stream, group: o.group, consumer: o.consumer, lifecycle: service.lifecycle, metrics: service.metrics, logger });
      await consumer.start();
      logger.info({ stream: o.stream, group: o.group, consumer: o.consumer }, 'consuming events');
    }
    const stop = (signal: string) => {
      logger.info({ signal }, 'draining in-flight requests');
      Promise.resolve(consumer?.stop()).then(() => service.drain()).then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'drain failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

program
  .command('demo')
  .description('Train a small VQL model on seeded synthetic data, export it and build its caches (from this repository alone).')
  .option('--out <dir>', 'output directory', './vql-demo')
  .option('--seed <n>', 'seed of the data, model and training', positiveInt('--seed'), 1)
  .option('--epochs <n>', 'training epochs', positiveInt('--epochs'), 2)
  .action(async (o: { out: string; seed: number; epochs: number }) => {
    const r = await runDemo({ out: o.out, seed: o.seed, epochs: o.epochs, log: (line) => console.error(line) });
    out(`model ${r.fingerprint.slice(0, 16)} (valid AUC ${r.validAuc.toFixed(4)}), caches of ${r.users} users (${r.events} events) in ${r.store}`);
    out(`serve it:  vql-serve serve --model ${r.modelDir} --store ${r.store}`);
    out(
      `score:     curl -s localhost:8080/v1/score -H 'content-type: application/json' -d '${JSON.stringify({ user: r.sampleUser, candidates: r.sampleItems.map((item) => ({ item })) })}'`,
    );
  });

program
  .command('build')
  .description("Build every user's cache for a model from an event table (worker threads), then record the build as complete.")
  .requiredOption('--model <dir>', 'model directory')
  .requiredOption('--events <dir>', 'event table written by saveEventTable (@vql/data), e.g. the demo\'s events/')
  .option('--store <spec>', 'lmdb:<dir>, redis://… or redis-cluster://…', DEFAULT_STORE)
  .option('--workers <n>', 'worker threads', positiveInt('--workers'), 2)
  .option('--queue <url>', 'spread the build over `vql-serve build-worker` hosts: BullMQ jobs on this Redis')
  .option('--shard-users <n>', 'users per queue job', positiveInt('--shard-users'), 1000)
  .action(async (o: { model: string; events: string; store: string; workers: number; queue?: string; shardUsers: number }) => {
    await initBackend();
    const spec = parseStoreSpec(o.store);
    const { model, fingerprint } = await importModel(resolve(o.model));
    model.dispose();
    const table = loadEventTable(resolve(o.events));
    if (o.queue !== undefined) {
      const r = await enqueueBuild({ queueUrl: o.queue, modelDir: o.model, eventsDir: o.events, store: o.store, fingerprint, users: table.userOffsets.length - 2, shardUsers: o.shardUsers });
      out(`model ${fingerprint.slice(0, 16)}: built ${r.built}, skipped ${r.skipped} (already built) over the queue; ${r.events} events into ${describeStore(spec)}`);
      return;
    }
    const r = await buildModelCaches({ modelDir: resolve(o.model), table, spec, fingerprint, workers: o.workers, progress: process.stderr.isTTY === true });
    out(
      `model ${fingerprint.slice(0, 16)}: built ${r.built}, skipped ${r.skipped} (already built), ${r.empty} without events, ${r.failed.length} refused, ${r.corrupt.length} damaged blobs rebuilt; ${Math.round(r.behavioursPerSecond)} behaviours/s into ${describeStore(spec)}`,
    );
  });

program
  .command('build-worker')
  .description('Process cache-build jobs from the BullMQ queue (run one per host; `vql-serve build --queue` enqueues them).')
  .requiredOption('--queue <url>', 'Redis of the queue')
  .option('--threads <n>', 'worker threads per job', positiveInt('--threads'), 2)
  .action(async (o: { queue: string; threads: number }) => {
    const worker = startBuildWorker({ queueUrl: o.queue, threads: o.threads });
    worker.on('completed', (job) => console.error(`shard ${job.name}: ${JSON.stringify(job.returnvalue)}`));
    worker.on('failed', (job, error) => console.error(`shard ${job?.name}: ${error.message}`));
    const stop = () => void worker.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program
  .command('consume')
  .description('Consume behaviour events from a Redis stream (consumer group) into the caches, without HTTP.')
  .requiredOption('--model <dir>', 'model directory')
  .requiredOption('--stream <key>', 'stream key')
  .option('--store <spec>', 'lmdb:<dir>, redis://… or redis-cluster://…', DEFAULT_STORE)
  .option('--stream-url <url>', 'Redis of the stream (default: the --store URL when it is Redis)')
  .option('--group <name>', 'consumer group', 'vql-serve')
  .option('--consumer <name>', 'consumer name (stable across restarts)', `${hostname()}-consume`)
  .option('--claim-idle-ms <n>', "claim entries a dead consumer left unacknowledged this long", positiveInt('--claim-idle-ms'), 30_000)
  .option('--batch-size <n>', 'entries per read', positiveInt('--batch-size'), 200)
  .option('--log-level <level>', 'pino level', 'info')
  .action(async (o: { model: string; stream: string; store: string; streamUrl?: string; group: string; consumer: string; claimIdleMs: number; batchSize: number; logLevel: string }) => {
    const logger = pino({ level: o.logLevel });
    await initBackend();
    const spec = parseStoreSpec(o.store);
    const url = o.streamUrl ?? (spec.kind === 'redis' ? spec.url : undefined);
    if (url === undefined) throw new InvalidArgumentError('--stream-url is required when the store is not Redis.');
    const lifecycle = new ModelLifecycle(await ServedModel.load(resolve(o.model), spec));
    const consumer = new StreamConsumer({ url, stream: o.stream, group: o.group, consumer: o.consumer, lifecycle, metrics: new ServingMetrics({ processMetrics: false }), logger, claimIdleMs: o.claimIdleMs, batchSize: o.batchSize });
    await consumer.start();
    logger.info({ stream: o.stream, group: o.group, consumer: o.consumer }, 'consuming events');
    const stop = () => {
      consumer
        .stop()
        .then(() => lifecycle.close())
        .then(() => {
          logger.info(consumer.counts, 'stopped');
          process.exit(0);
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`vql-serve: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
