import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VqlError, isVqlError } from '@vql/errors';
import type { ExperimentConfig } from './config.js';
import { ExperimentRunError } from './errors.js';
import type { RunSpec } from './run-spec.js';
import type { RunRecord } from './results.js';
import type { RunExecutor } from './runner.js';

/** Parent → worker: execute one run. */
export interface RunRequest {
  readonly id: number;
  readonly spec: RunSpec;
  readonly config: ExperimentConfig;
  readonly outDir: string;
}

/** Worker → parent: the run's values, or why it failed. */
export type RunReply = (
  | { readonly id: number; readonly values: Partial<RunRecord> }
  | { readonly id: number; readonly error: ReplyError }
) & {
  /** The worker is not fit for more runs (its backend failed): the pool replaces it. */
  readonly retire?: true;
};

/** An error as it crosses the process boundary; `source` and `code` are set for a `VqlError`. */
export interface ReplyError {
  name: string;
  message: string;
  code?: string;
  source?: string;
  stack?: string;
}

/** What a worker sends for an error it caught. */
export function replyError(err: unknown): ReplyError {
  const e = err as Error & { code?: string };
  return {
    name: e.name,
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(isVqlError(err) ? { source: err.source } : {}),
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
  };
}

/** The parent's copy of a worker's error: a `VqlError` again when it was one (same source, code and name). */
export function errorFromReply(reply: ReplyError): Error {
  const error = reply.source !== undefined && reply.code !== undefined ? new VqlError(reply.source, reply.code, reply.message) : Object.assign(new Error(reply.message), reply.code !== undefined ? { code: reply.code } : {});
  error.name = reply.name;
  if (reply.stack !== undefined) error.stack = reply.stack;
  return error;
}

interface Worker {
  readonly child: ChildProcess;
  busy: boolean;
  readonly exited: Promise<void>;
}

/**
 * Executes runs in `jobs` child processes, each with its own `createExecutor` (tfjs-wasm is
 * single-threaded in Node: one process per core is how training uses the machine). Each run is
 * seeded by its spec, so the values do not depend on which process ran it. Children start on
 * first use and stop on `dispose`.
 */
export class RunProcessPool implements RunExecutor {
  private readonly workers: Worker[] = [];
  /** Whether the signal and exit handlers are installed (once, however many workers come and go). */
  private listening = false;
  private readonly waiting: Array<(w: Worker) => void> = [];
  private readonly pending = new Map<number, { resolve: (v: Partial<RunRecord>) => void; reject: (e: Error) => void; worker: Worker }>();
  private nextId = 0;
  /**
   * A child busy in a synchronous training loop never sees its IPC channel close, so when this
   * process is interrupted or exits the children are killed here (else they finish their run
   * orphaned, holding a core). The signal is then re-raised with its default action.
   */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.dispose();
    process.kill(process.pid, signal);
  };
  private readonly onExit = (): void => this.dispose();
  private static readonly SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

  constructor(
    private readonly jobs: number,
    private readonly dataDir: string,
  ) {}

  private start(): Worker {
    if (!this.listening) {
      this.listening = true;
      for (const signal of RunProcessPool.SIGNALS) process.once(signal, this.onSignal);
      process.once('exit', this.onExit);
    }
    const script = fileURLToPath(new URL(`./run-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    // The parent's loader flags (tsx, --conditions=@vql/source) carry over; --eval would replace the script.
    const execArgv = process.execArgv.filter((a, i, all) => a !== '--eval' && all[i - 1] !== '--eval');
    const child = fork(script, [this.dataDir], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker: Worker = {
      child,
      busy: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    child.on('message', (reply: RunReply) => {
      const job = this.pending.get(reply.id);
      if (job === undefined) return;
      this.pending.delete(reply.id);
      if (reply.retire === true) this.retire(worker);
      else this.release(worker);
      if ('values' in reply) job.resolve(reply.values);
      else job.reject(errorFromReply(reply.error));
    });
    child.once('exit', (code, signal) => {
      for (const [id, job] of this.pending) {
        if (job.worker !== worker) continue;
        this.pending.delete(id);
        job.reject(new ExperimentRunError('WORKER_EXITED', `experiment worker process ${child.pid} exited (${signal ?? `code ${code}`}) during a run`));
      }
      const at = this.workers.indexOf(worker);
      if (at >= 0) this.workers.splice(at, 1);
    });
    this.workers.push(worker);
    return worker;
  }

  /** Stops a worker that must not run more; a run waiting for a worker gets a fresh process. */
  private retire(worker: Worker): void {
    const at = this.workers.indexOf(worker);
    if (at >= 0) this.workers.splice(at, 1);
    worker.child.kill();
    const take = this.waiting.shift();
    if (take === undefined) return;
    const fresh = this.start();
    fresh.busy = true;
    take(fresh);
  }

  private release(worker: Worker): void {
    const take = this.waiting.shift();
    if (take !== undefined) take(worker);
    else worker.busy = false;
  }

  private acquire(): Promise<Worker> {
    const idle = this.workers.find((w) => !w.busy);
    const worker = idle ?? (this.workers.length < this.jobs ? this.start() : null);
    if (worker !== null) {
      worker.busy = true;
      return Promise.resolve(worker);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async execute(spec: RunSpec, config: ExperimentConfig, { outDir }: { outDir: string }): Promise<Partial<RunRecord>> {
    const worker = await this.acquire();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.child.send({ id, spec, config, outDir } satisfies RunRequest);
    });
  }

  dispose(): void {
    for (const w of this.workers) w.child.kill();
    this.workers.length = 0;
    for (const signal of RunProcessPool.SIGNALS) process.off(signal, this.onSignal);
    process.off('exit', this.onExit);
    this.listening = false;
  }
}
