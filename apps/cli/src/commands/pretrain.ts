// `tuneloop pretrain --task arith --out DIR`: trains the tiny Llama-architecture base model from scratch on the
// seeded arith corpus, prints held-out exact match, and saves a Hugging Face folder (cached under TUNELOOP_HOME).
import type { Command } from 'commander';
import { CliError, emit } from '../output.ts';

export function register(program: Command): void {
  program
    .command('pretrain')
    .description('Train the tiny base model from scratch on a synthetic task and save it as a Hugging Face folder')
    .requiredOption('--task <task>', 'synthetic task (arith)')
    .option('--out <dir>', 'output folder (default $TUNELOOP_HOME/models/tiny-arith)')
    .option('--steps <n>', 'optimizer steps (default 1200; 250 with --small)', (v) => Number(v))
    .option('--seed <s>', 'seed of the corpus and the initial weights (default 1)', (v) => Number(v))
    .option('--small', 'the small, fast setting used by tests (lower accuracy)')
    .option('--force', 'retrain even when the folder already holds this model')
    .option('--json', 'print JSON')
    .action(async (o: { task: string; out?: string; steps?: number; seed?: number; small?: boolean; force?: boolean; json?: boolean }) => {
      if (o.task !== 'arith') throw new CliError(`--task: must be 'arith', got '${o.task}'`);
      if (o.steps !== undefined && (!Number.isInteger(o.steps) || o.steps < 1)) throw new CliError(`--steps: must be an integer >= 1, got ${o.steps}`);
      if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new CliError(`--seed: must be an integer, got ${o.seed}`);
      const { pretrainArithToFolder } = await import('@tuneloop/files');
      const s = await pretrainArithToFolder({
        out: o.out,
        steps: o.steps,
        seed: o.seed,
        small: o.small,
        force: o.force,
        progress: o.json ? undefined : (l) => process.stderr.write(l),
      });
      emit(o.json ?? false, s, (v) =>
        [
          `${v.cached ? 'reused' : 'saved'} ${v.out} (${(v.parameters / 1e6).toFixed(2)} M parameters, ${v.steps} steps, seed ${v.seed}, ${v.backend})`,
          `final loss ${v.finalLoss.toFixed(4)}; held-out 2-digit additions, greedy exact match: ${(100 * v.heldOutExactMatch).toFixed(1)}% of ${v.heldOutCount}`,
          `${v.seconds.toFixed(1)} s`,
        ].join('\n'),
      );
    });
}
