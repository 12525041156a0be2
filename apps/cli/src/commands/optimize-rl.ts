// `tuneloop optimize grpo|best-of-n --policy DIR --data F.jsonl --out DIR`: RL fine-tuning of a LoRA policy with
// a verifier (GRPO, or best-of-N rejection sampling + SFT), run in this process; rows are {prompt, reference}
// (or TRL {prompt, completion}: the completion is the reference). Adds subcommands to `optimize` (optimize.ts).
import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, emit } from '../output.ts';

interface RlOpts { policy: string; data: string; out: string; eval?: string; verifier: string; steps: number; lr: number; rank: number; seed: number; group: number; prompts: number; maxNewTokens: number; beta: number; lossType: string; n: number; threshold?: number; watch?: boolean; json?: boolean }

const num = (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new CliError(`not a number: ${v}`, 2);
  return x;
};

/** Prompt rows of a JSONL file; a bad line is a CliError naming file and line. */
export async function readPromptRows(file: string, flag: string): Promise<{ prompt: string; reference?: string }[]> {
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new CliError(`${flag}: cannot read ${file} (${e.message})`, 2);
  });
  const rows: { prompt: string; reference?: string }[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new CliError(`${flag}: ${path.basename(file)} line ${i + 1}: invalid JSON (${(e as Error).message})`, 2);
    }
    const ref = o.reference ?? o.completion;
    if (typeof o.prompt !== 'string' || o.prompt === '') throw new CliError(`${flag}: ${path.basename(file)} line ${i + 1}: prompt: must be a non-empty string`, 2);
    if (ref !== undefined && typeof ref !== 'string') throw new CliError(`${flag}: ${path.basename(file)} line ${i + 1}: reference: must be a string`, 2);
    rows.push({ prompt: o.prompt, reference: ref as string | undefined });
  });
  if (rows.length === 0) throw new CliError(`${flag}: ${file} holds no rows`, 2);
  return rows;
}

async function inputErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if ((e as { code?: string }).code === 'INVALID_ARGUMENT') throw new CliError((e as Error).message, 2);
    throw e;
  }
}

async function runRl(method: 'grpo' | 'best-of-n', o: RlOpts) {
  const [{ initBackend }, files, peft, rl, ver] = await Promise.all([
    import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/peft'), import('@tuneloop/rl'), import('@tuneloop/verifiers'),
  ]);
  const verifier = await inputErrors(() => ver.createVerifier(o.verifier));
  const prompts = await readPromptRows(o.data, '--data');
  const evalRows = o.eval ? await readPromptRows(o.eval, '--eval') : null;
  const info = await initBackend({ quiet: true });
  const loaded = await files.loadModel(o.policy);
  const tok = loaded.tokenizer;
  if (!tok) throw new CliError(`--policy: ${o.policy} has no tokenizer.json`, 2);
  const model = loaded.model;
  model.setTrainable(false);
  const lora = peft.getPeftMethod('lora');
  const pm = lora.apply(model, lora.parseConfig({ r: o.rank, lora_alpha: 2 * o.rank, target_modules: 'all-linear' }), { seed: o.seed });
  const evalOpts = { maxNewTokens: o.maxNewTokens };
  const before = evalRows ? await inputErrors(() => rl.greedyPassAt1(model, tok, evalRows, verifier, evalOpts)) : null;
  const started = performance.now();
  let final: Record<string, number> = {};
  if (method === 'grpo') {
    const config = { steps: o.steps, promptsPerStep: o.prompts, groupSize: o.group, lr: o.lr, beta: o.beta, lossType: o.lossType as 'dapo', maxNewTokens: o.maxNewTokens, seed: o.seed };
    await inputErrors(() => rl.prepareGrpo({ model, variables: pm.trainableVariables(), tokenizer: tok, prompts, verifier, config }));
    const hist = await rl.trainGrpo({
      model, variables: pm.trainableVariables(), tokenizer: tok, prompts, verifier, config,
      onStep: (m) => {
        const x = m.metrics;
        if (o.watch) process.stderr.write(`\r[${m.step + 1}/${o.steps}] reward ${x.reward.toFixed(3)} pass ${x.pass_rate.toFixed(3)} kl ${x.kl.toFixed(4)} clip ${x.clip_ratio.toFixed(3)} `);
      },
    });
    final = hist[hist.length - 1].metrics;
  } else {
    const r = await inputErrors(() => rl.bestOfN({
      model, variables: pm.trainableVariables(), tokenizer: tok, prompts, verifier,
      config: { n: o.n, threshold: o.threshold, maxNewTokens: o.maxNewTokens, sftSteps: o.steps, lr: o.lr, seed: o.seed },
      onStep: (s) => {
        if (o.watch) process.stderr.write(`\r[${s.step + 1}/${o.steps}] sft loss ${s.loss.toFixed(4)} `);
      },
    }));
    final = { kept: r.kept, mean_best_score: r.meanBestScore, mean_score: r.meanScore, loss: r.losses.at(-1) ?? NaN };
  }
  if (o.watch) process.stderr.write('\n');
  const after = evalRows ? await rl.greedyPassAt1(model, tok, evalRows, verifier, evalOpts) : null;
  const summary = { out: path.resolve(o.out), method, backend: info.name, prompts: prompts.length, steps: o.steps, finalMetrics: final, passAt1Before: before?.passAt1 ?? null, passAt1After: after?.passAt1 ?? null, seconds: (performance.now() - started) / 1000 };
  const adapter = peft.encodeAdapterFiles(peft.saveAdapter(pm, { baseModel: o.policy }));
  await mkdir(o.out, { recursive: true });
  for (const [name, content] of Object.entries(adapter)) await writeFile(path.join(o.out, name), content);
  await writeFile(path.join(o.out, 'optimize.json'), JSON.stringify({ status: 'succeeded', ...summary }, null, 2) + '\n');
  pm.unload();
  model.dispose();
  return summary;
}

export function register(program: Command): void {
  const opt = program.commands.find((c) => c.name() === 'optimize') ?? program.command('optimize').description('Policy optimization of a LoRA policy (runs locally).');
  for (const method of ['grpo', 'best-of-n'] as const) {
    const c = opt
      .command(method)
      .description(method === 'grpo' ? 'GRPO with a verifier on prompt JSONL; writes a PEFT LoRA adapter' : 'best-of-N rejection sampling + SFT on the winners; writes a PEFT LoRA adapter')
      .requiredOption('--policy <dir>', 'policy model folder (the reference is the policy with the adapter disabled)')
      .requiredOption('--data <file>', 'training prompts, JSONL {prompt, reference}')
      .requiredOption('--out <dir>', 'adapter output folder')
      .option('--eval <file>', 'held-out prompts: greedy pass@1 before and after')
      .option('--verifier <spec>', 'verifier name or JSON spec', 'numeric')
      .option('--max-new-tokens <n>', 'tokens per completion', num, 8)
      .option('--steps <n>', method === 'grpo' ? 'generation batches' : 'SFT steps on the winners', num, 40)
      .option('--lr <x>', 'learning rate', num, 3e-3)
      .option('--rank <r>', 'LoRA rank', num, 8)
      .option('--seed <n>', 'seed', num, 1);
    if (method === 'grpo') {
      c.option('--group <g>', 'completions per prompt (>= 2)', num, 8)
        .option('--prompts <p>', 'prompts per generation batch', num, 8)
        .option('--beta <b>', 'KL coefficient', num, 0)
        .option('--loss-type <t>', 'grpo, bnpo, dr_grpo or dapo', 'dapo');
    } else {
      c.option('--n <n>', 'samples per prompt', num, 8).option('--threshold <x>', 'keep a winner only with score >= x', num);
    }
    c.option('--watch', 'live progress on stderr (reward, pass rate, KL, clip ratio per step)')
      .option('--json', 'print JSON')
      .action(async (o: RlOpts) => {
        const s = await runRl(method, o);
        emit(!!o.json, s, (v) =>
          [
            `saved ${v.out} (${v.method}, ${v.steps} steps, ${v.seconds.toFixed(1)} s)`,
            ...(v.passAt1Before !== null ? [`held-out greedy pass@1 ${(100 * v.passAt1Before).toFixed(1)}% -> ${(100 * (v.passAt1After ?? 0)).toFixed(1)}%`] : []),
          ].join('\n'),
        );
      });
  }
}
