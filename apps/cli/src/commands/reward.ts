// `tuneloop reward train|eval|score`: a Bradley-Terry reward model (transformer trunk + scalar head, LoRA or
// full) trained on TRL preference JSONL, run in this process (the reward-model service's job path is not built).
// The output folder is a Hugging Face model folder (the merged trunk) plus score.safetensors (`score.weight`).
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, emit, table } from '../output.ts';

export const HEAD_FILE = 'score.safetensors';

/** Reads a preference JSONL file; dataset and objective input errors become exit-code-2 CliErrors. */
export async function readPreferences(file: string) {
  const { parsePreferenceJsonl } = await import('@tuneloop/datasets');
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new CliError(`--data: cannot read ${file} (${e.message})`, 2);
  });
  return inputErrors(() => parsePreferenceJsonl(text, { source: path.basename(file) }));
}

/** Runs `fn`, turning INVALID_ARGUMENT errors (dataset, objective) into CliError exit 2 and divergence into FAILED. */
export async function inputErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as { code?: string; message?: string; name?: string };
    if (err.code === 'INVALID_ARGUMENT') throw new CliError(err.message ?? String(e), 2);
    if (err.name === 'TrainingDivergedError') throw new CliError(`FAILED: ${err.message}`, 1);
    throw e;
  }
}

export const num = (v: string) => Number(v);

/** Progress line on stderr for --watch. */
export function progressLine(step: number, total: number, m: Record<string, number>): string {
  const acc = m['rewards/accuracies'] ?? m.accuracy;
  return `\r[${step + 1}/${total}] loss ${m.loss.toFixed(4)}${acc === undefined || Number.isNaN(acc) ? '' : ` acc ${acc.toFixed(2)}`} `;
}

async function loadRewardModel(dir: string) {
  const [{ loadModel }, model] = await Promise.all([import('@tuneloop/files'), import('@tuneloop/model')]);
  const loaded = await loadModel(dir);
  const bytes = await readFile(path.join(dir, HEAD_FILE)).catch(() => {
    throw new CliError(`--model: ${dir} has no ${HEAD_FILE} (not a reward model folder)`, 2);
  });
  const raw = model.parseSafetensors(new Uint8Array(bytes)).tensors.get(model.REWARD_HEAD_NAME);
  if (!raw) throw new CliError(`--model: ${HEAD_FILE} has no '${model.REWARD_HEAD_NAME}' tensor`, 2);
  const head = model.tensorFromRaw(raw);
  const rm = new model.RewardModel(loaded.model, { head });
  head.dispose();
  if (!loaded.tokenizer) throw new CliError(`--model: ${dir} has no tokenizer.json`, 2);
  return { rm, tokenizer: loaded.tokenizer };
}

/** After mergeAndUnload: writes each merged linear into the model's own base weights (what saveModel exports). */
export function bakeMerged(m: import('@tuneloop/model').CausalLM): void {
  for (const [name, mod] of m.linears()) {
    const base = m.baseLinear(name);
    const merged = (mod as unknown as { weightT?: import('@tensorflow/tfjs-core').Tensor2D }).weightT;
    if (!base || mod === base || !merged) continue;
    base.weightT.assign(merged);
    m.setLinear(name, base);
  }
}

interface TrainOpts { base: string; data: string; out: string; eval?: string; steps: number; batchSize: number; lr: number; rank: number; full?: boolean; margin?: boolean; center?: number; seed: number; watch?: boolean; json?: boolean }

async function train(o: TrainOpts) {
  const [{ initBackend }, files, model, peft, obj] = await Promise.all([
    import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/model'), import('@tuneloop/peft'), import('@tuneloop/objectives'),
  ]);
  const cfg = { steps: o.steps, batchSize: o.batchSize, lr: o.lr, seed: o.seed, useMargin: o.margin, centerRewardsCoefficient: o.center };
  await inputErrors(() => obj.validateRewardConfig(cfg));
  const pairs = await readPreferences(o.data);
  const evalPairs = o.eval ? await readPreferences(o.eval) : null;
  const info = await initBackend({ quiet: true });
  const loaded = await files.loadModel(o.base);
  const tok = loaded.tokenizer;
  if (!tok) throw new CliError(`--base: ${o.base} has no tokenizer.json`, 2);
  await inputErrors(() => obj.encodePairs(tok, pairs));
  loaded.model.setTrainable(!!o.full);
  const lora = peft.getPeftMethod('lora');
  const pm = o.full ? null : lora.apply(loaded.model, lora.parseConfig({ r: o.rank, lora_alpha: 2 * o.rank, target_modules: 'all-linear' }), { seed: o.seed });
  const rm = new model.RewardModel(loaded.model, { seed: o.seed });
  const started = performance.now();
  const hist = await inputErrors(() =>
    obj.trainRewardModel(rm, tok, pairs, cfg, (s) => {
      if (o.watch) process.stderr.write(progressLine(s.step, o.steps, s.metrics));
    }),
  );
  if (o.watch) process.stderr.write('\n');
  const evaluation = evalPairs ? obj.evaluateRewardModel(rm, tok, evalPairs) : null;
  if (pm) {
    pm.mergeAndUnload();
    bakeMerged(loaded.model);
  }
  const summary = { out: path.resolve(o.out), base: o.base, backend: info.name, pairs: pairs.length, steps: hist.length, finalLoss: hist[hist.length - 1].metrics.loss, training: o.full ? 'full' : `lora r=${o.rank}`, evalAccuracy: evaluation?.accuracy ?? null, seconds: (performance.now() - started) / 1000 };
  const head = rm.namedHead();
  const headBytes = model.serializeSafetensors(model.rawFromTensors(head), { format: 'pt' });
  await files.saveModel(o.out, loaded.model, { tokenizer: tok, extraFiles: { [HEAD_FILE]: headBytes, 'reward_model.json': JSON.stringify(summary, null, 2) + '\n' } });
  for (const t of head.values()) t.dispose();
  return summary;
}

export function register(program: Command): void {
  const reward = program.command('reward').description('Reward models: train on preference pairs (Bradley-Terry), evaluate, score (runs locally).');
  reward
    .command('train')
    .description('Train a reward model (trunk + scalar head) on TRL preference JSONL {prompt, chosen, rejected}')
    .requiredOption('--base <dir>', 'base model folder (Hugging Face layout)')
    .requiredOption('--data <file>', 'preference pairs, JSONL')
    .requiredOption('--out <dir>', 'output folder')
    .option('--eval <file>', 'held-out pairs for pairwise accuracy')
    .option('--steps <n>', 'optimizer steps', num, 100)
    .option('--batch-size <n>', 'pairs per step', num, 16)
    .option('--lr <x>', 'peak learning rate', num, 3e-3)
    .option('--rank <r>', 'LoRA rank of the trunk', num, 8)
    .option('--full', 'train every trunk weight instead of LoRA')
    .option('--margin', "subtract each pair's \"margin\" field in the loss (Llama 2)")
    .option('--center <c>', 'reward-centering coefficient (Eisenstein et al. 2023)', num)
    .option('--seed <n>', 'seed', num, 1)
    .option('--watch', 'progress on stderr')
    .option('--json', 'print JSON')
    .action(async (o: TrainOpts) => {
      const s = await train(o);
      emit(!!o.json, s, (v) => `saved ${v.out}: ${v.steps} steps, final loss ${v.finalLoss.toFixed(4)}${v.evalAccuracy === null ? '' : `, held-out accuracy ${(100 * v.evalAccuracy).toFixed(1)}%`}`);
    });
  reward
    .command('eval')
    .description('Pairwise accuracy of a reward model on preference JSONL')
    .requiredOption('--model <dir>', 'reward model folder (from reward train)')
    .requiredOption('--data <file>', 'preference pairs, JSONL')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; data: string; json?: boolean }) => {
      const pairs = await readPreferences(o.data);
      await (await import('@tuneloop/engine')).initBackend({ quiet: true });
      const { rm, tokenizer } = await loadRewardModel(o.model);
      const { evaluateRewardModel } = await import('@tuneloop/objectives');
      const r = await inputErrors(() => evaluateRewardModel(rm, tokenizer, pairs));
      emit(!!o.json, r, (v) => `pairwise accuracy ${(100 * v.accuracy).toFixed(1)}% on ${v.count} pairs (mean margin ${v.meanMargin.toFixed(3)})`);
    });
  reward
    .command('score')
    .description('Score responses to one prompt')
    .requiredOption('--model <dir>', 'reward model folder (from reward train)')
    .requiredOption('--prompt <text>', 'the prompt')
    .requiredOption('--response <text...>', 'one or more responses')
    .option('--json', 'print JSON')
    .action(async (o: { model: string; prompt: string; response: string[]; json?: boolean }) => {
      await (await import('@tuneloop/engine')).initBackend({ quiet: true });
      const { rm, tokenizer } = await loadRewardModel(o.model);
      const { scoreResponses } = await import('@tuneloop/objectives');
      const scores = await inputErrors(() => scoreResponses(rm, tokenizer, o.prompt, o.response));
      const rows = o.response.map((r, i) => ({ response: r, score: scores[i] }));
      emit(!!o.json, rows, (v) => table(['score', 'response'], v.map((r) => [r.score.toFixed(4), JSON.stringify(r.response)])));
    });
}
