import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVqlError } from '@vql/errors';
import { VqlDataError } from '@vql/data';
import { ExperimentConfigError } from './errors.js';
import { errorFromReply, replyError } from './run-pool.js';

describe('errors across the worker boundary', () => {
  it('a VqlError comes back as a VqlError with its source, code, name and message', () => {
    const back = errorFromReply(JSON.parse(JSON.stringify(replyError(new VqlDataError('FILE_NOT_FOUND', 'events.csv: not found')))));
    expect(isVqlError(back, 'FILE_NOT_FOUND')).toBe(true);
    expect([back.name, back.message, isVqlError(back) ? back.source : null]).toEqual(['VqlDataError', 'events.csv: not found', '@vql/data']);
    const config = errorFromReply(replyError(new ExperimentConfigError('NOT_A_MODEL', 'floor is a reference score')));
    expect(isVqlError(config) ? [config.source, config.code] : null).toEqual(['@vql/experiment', 'NOT_A_MODEL']);
  });

  it('any other error comes back as a plain Error with its name, message and code', () => {
    const back = errorFromReply(replyError(Object.assign(new RangeError('boom'), { code: 'ERR_X' })));
    expect(isVqlError(back)).toBe(false);
    expect([back.name, back.message, (back as Error & { code?: string }).code]).toEqual(['RangeError', 'boom', 'ERR_X']);
    expect(replyError(new Error('no code'))).not.toHaveProperty('code');
  });
});

describe('interrupting a run with --jobs', () => {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  // Linux /proc: "pid (comm) state ppid ..." (comm may hold spaces, so parse after the last ')').
  // Only the run workers: tsx may run an esbuild service as another child.
  const workersOf = (pid: number): number[] =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
        } catch {
          return false; // exited meanwhile
        }
      })
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('run-worker');
        } catch {
          return false;
        }
      })
      .map(Number);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('SIGTERM to the CLI stops its busy worker processes too (they do not finish their run orphaned)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-sigterm-'));
    // Smoke data with runs long enough (many epochs) that a worker is surely mid-run when stopped.
    const config = join(out, 'long-runs.json');
    writeFileSync(config, JSON.stringify({ extends: 'smoke', name: 'long-runs', train: { epochs: 200, patience: 200 }, studies: { latency: null } }));
    const cli = spawn(process.execPath, ['--conditions=@vql/source', '--import', 'tsx', 'src/cli.ts', '--config', config, '--jobs', '2', '--out', join(out, 'run'), '--fresh'], {
      cwd: join(__dirname, '..'),
      stdio: 'ignore',
    });
    let workers: number[] = [];
    for (let i = 0; i < 120 && workers.length < 2; i++) {
      await sleep(250);
      workers = workersOf(cli.pid!);
    }
    expect(workers).toHaveLength(2);
    await sleep(3000); // into their first runs
    cli.kill('SIGTERM');
    await new Promise((r) => cli.once('exit', r));
    // Killed, not left to finish a run that takes minutes.
    for (let i = 0; i < 12 && workers.some(alive); i++) await sleep(250);
    expect(workers.filter(alive)).toEqual([]);
  }, 60_000);
});
