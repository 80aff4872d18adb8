// A child process of `RunProcessPool`: executes the runs its parent sends, one at a time.
import { replyError } from './run-pool.js';
import type { RunReply, RunRequest } from './run-pool.js';
import { createExecutor } from './execute.js';

const executor = createExecutor(process.argv[2]!, (line) => console.log(line));
let prepared = false;

process.on('message', (request: RunRequest) => {
  void (async () => {
    let reply: RunReply;
    try {
      if (!prepared) {
        await executor.prepare?.(request.config, []);
        prepared = true;
      }
      reply = { id: request.id, values: await executor.execute(request.spec, request.config, { outDir: request.outDir }) };
    } catch (err) {
      reply = { id: request.id, error: replyError(err) };
    }
    // A process whose backend failed mid-step is retired by the pool after this reply.
    process.send!(executor.sound ? reply : { ...reply, retire: true });
  })();
});
// The parent went away (finished, killed or crashed): nothing left to run for.
process.on('disconnect', () => process.exit(0));
