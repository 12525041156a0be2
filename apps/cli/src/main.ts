// Entry point of the `tuneloop` CLI: one file per command group under commands/, registered here.
import { Command, CommanderError } from 'commander';
import { CliError } from './output.ts';

type Register = (program: Command) => void;
const commandGroups: (() => Promise<{ register: Register }>)[] = [
  () => import('./commands/model.ts'),
  () => import('./commands/pretrain.ts'),
  () => import('./commands/doctor.ts'),
  () => import('./commands/peft.ts'),
  () => import('./commands/train.ts'),
  () => import('./commands/jobs.ts'),
  () => import('./commands/labeling.ts'),
  () => import('./commands/reward.ts'),
  () => import('./commands/optimize.ts'),
  () => import('./commands/optimize-rl.ts'),
  () => import('./commands/rollout.ts'),
  () => import('./commands/dataset.ts'),
];

export async function main(argv: string[]): Promise<number> {
  const program = new Command('tuneloop')
    .description('Fine-tune and align language models: the RLHF feedback loop.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const load of commandGroups) (await load()).register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tuneloop: ${message.split('\n')[0]}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
