// `tuneloop model ...`: subcommands over Hugging Face-layout model folders, one file each (model-<name>.ts).
import type { Command } from 'commander';
import { registerInspect } from './model-inspect.ts';
import { registerGenerate } from './model-generate.ts';
import { registerPerplexity } from './model-perplexity.ts';
import { registerImport } from './model-import.ts';
import { registerQuantize } from './model-quantize.ts';
import { registerLs } from './model-ls.ts';
import { registerPull } from './model-pull.ts';
import { registerRm } from './model-rm.ts';

export function register(program: Command): void {
  const model = program.command('model').description('Inspect, run and evaluate Hugging Face-layout model folders');
  registerInspect(model);
  registerGenerate(model);
  registerPerplexity(model);
  registerImport(model);
  registerQuantize(model);
  registerLs(model);
  registerPull(model);
  registerRm(model);
}
