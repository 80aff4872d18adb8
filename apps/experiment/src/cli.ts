import { Command } from 'commander';
import { selfCheck } from './self-check.js';

const program = new Command()
  .name('vql-experiment')
  .description('vql experiment runner')
  .showHelpAfterError();

program
  .command('self-check', { isDefault: true })
  .description('check that this machine can train vql models (backends, kernels, metrics)')
  .option('--steps <n>', 'training steps per backend', (v) => Number.parseInt(v, 10), 40)
  .action(async (opts: { steps: number }) => {
    console.log('vql self-check (@vql/runtime + @vql/metrics)');
    const result = await selfCheck(opts.steps);
    for (const line of result.lines) console.log(`  ${line}`);
    console.log(result.ok ? 'self-check passed' : 'self-check FAILED');
    process.exitCode = result.ok ? 0 : 1;
  });

await program.parseAsync(process.argv);
