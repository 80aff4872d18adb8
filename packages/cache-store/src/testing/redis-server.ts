// Test-only: a private redis-server per test file (free loopback port, temp dir, AOF with
// fsync on every write), so tests never depend on a system service.
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const INSTALL_HINT = 'install redis-server (Debian/Ubuntu: `sudo apt-get install -y redis-server`; macOS: `brew install redis`) to run the Redis store tests';

/**
 * The redis-server binary. When it is missing, installs it where the set-up can (as root through
 * `apt-get update && apt-get install -y redis-server`, as a fresh CI machine needs), otherwise
 * fails fast with one line saying what to install. Synchronous: called while the test file
 * loads, so a missing server fails that file once, before any test runs.
 */
export function ensureRedisServer(): string {
  const found = which('redis-server');
  if (found !== undefined) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || which('apt-get') === undefined) {
    throw new Error(`redis-server is not installed and this set-up cannot install it (${root ? 'no apt-get' : 'not root'}): ${INSTALL_HINT}.`);
  }
  // Waits for the dpkg lock rather than failing when another apt run holds it.
  const script = 'apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=300 redis-server';
  const run = spawnSync('sh', ['-c', script], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', timeout: 600_000 });
  const installed = which('redis-server');
  if (installed !== undefined) return installed;
  const detail = `${run.error?.message ?? ''}${run.stderr ?? ''}`.trim().split('\n').pop() ?? '';
  throw new Error(`redis-server is not installed and \`${script}\` failed (exit ${run.status}${detail === '' ? '' : `: ${detail}`}): ${INSTALL_HINT}.`);
}

let binary: string | undefined;
export function redisServerBinary(): string {
  binary ??= ensureRedisServer();
  return binary;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export class TestRedisServer {
  private proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `extraArgs` go to redis-server after the defaults (e.g. `--cluster-enabled yes`). */
  static async start(extraArgs: readonly string[] = []): Promise<TestRedisServer> {
    const server = new TestRedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'vql-redis-')), extraArgs);
    await server.launch();
    return server;
  }

  /** (Re)starts the server on the same port and data dir; resolves once it answers. */
  async launch(): Promise<void> {
    const bin = redisServerBinary();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning', ...this.extraArgs];
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr}`);
      if (await this.answers()) return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer within 10 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async answers(): Promise<boolean> {
    const { Socket } = await import('node:net');
    return new Promise((resolve) => {
      const s = new Socket();
      s.once('error', () => resolve(false));
      s.connect(this.port, '127.0.0.1', () => {
        s.write('PING\r\n');
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString().startsWith('+PONG'));
        });
      });
    });
  }

  /** kill -9: no shutdown, no final fsync. */
  async kill9(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('close', () => resolve()); // 'close': after stdio closed too, so jest sees no open handle
      proc.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A private Redis Cluster of `masters` redis-server processes (no replicas) on free loopback
 * ports, slots assigned with `redis-cli --cluster create` (redis-tools comes with redis-server).
 */
export class TestRedisCluster {
  private constructor(readonly servers: TestRedisServer[]) {}

  /** Seed URLs of every node. */
  get nodes(): string[] {
    return this.servers.map((s) => s.url);
  }

  static async start(masters = 3): Promise<TestRedisCluster> {
    const servers: TestRedisServer[] = [];
    for (let i = 0; i < masters; i++) servers.push(await TestRedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']));
    const cli = which('redis-cli');
    if (cli === undefined) throw new Error('redis-cli is not installed (Debian: apt-get install -y redis-tools).');
    const hosts = servers.map((s) => `127.0.0.1:${s.port}`);
    const run = spawnSync(cli, ['--cluster', 'create', ...hosts, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (run.status !== 0) throw new Error(`redis-cli --cluster create failed (exit ${run.status}): ${run.stdout}${run.stderr}`);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const info = servers.map((s) => spawnSync(cli, ['-p', String(s.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout);
      if (info.every((t) => t.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`the test cluster did not reach cluster_state:ok: ${info.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return new TestRedisCluster(servers);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
