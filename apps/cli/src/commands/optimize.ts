// `tuneloop optimize dpo|ipo|orpo|simpo|kto --policy DIR --data F.jsonl --out DIR`: preference optimization of
// a LoRA policy on TRL JSONL (pairs, or KTO's {prompt, completion, label}), run in this process (the
// preference-optimizer service's job path is not built); writes the adapter in PEFT format.
import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError, emit } from '../output.ts';
import { inputErrors, num, progressLine, readPreferences } from './reward.ts';

interface OptimizeOpts { policy: string; data: string; out: string; eval?: string; lossType?: string; beta?: number; gamma?: number; steps: number; batchSize: number; lr: number; rank: number; seed: number; watch?: boolean; json?: boolean }

async function readKto(file: string) {
  const { parseKtoJsonl } = await import('@tuneloop/datasets');
  const text = await readFile(file, 'utf8');
  return inputErrors(() => parseKtoJsonl(text, { source: path.basename(file) }));
}

async function optimize(method: string, o: OptimizeOpts) {
  const [{ initBackend }, files, peft, obj] = await Promise.all([import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/peft'), import('@tuneloop/objectives')]);
  const config = { method, lossType: o.lossType, beta: o.beta, gamma: o.gamma, steps: o.steps, batchSize: o.batchSize, lr: o.lr, seed: o.seed } as import('@tuneloop/objectives').PreferenceTrainConfig;
  await inputErrors(() => obj.resolvePreferenceConfig(config));
  const firstLine = (await readFile(o.data, 'utf8').catch((e: Error) => { throw new CliError(`--data: cannot read ${o.data} (${e.message})`, 2); })).split('\n').find((l) => l.trim() !== '') ?? '';
  const unpairedFile = method === 'kto' && /"label"\s*:/.test(firstLine);
  const pairs = unpairedFile ? undefined : await readPreferences(o.data);
  const unpaired = unpairedFile ? await readKto(o.data) : undefined;
  const evalPairs = o.eval ? await readPreferences(o.eval) : null;
  const info = await initBackend({ quiet: true });
  const loaded = await files.loadModel(o.policy);
  const tok = loaded.tokenizer;
  if (!tok) throw new CliError(`--policy: ${o.policy} has no tokenizer.json`, 2);
  loaded.model.setTrainable(false);
  const lora = peft.getPeftMethod('lora');
  const pm = lora.apply(loaded.model, lora.parseConfig({ r: o.rank, lora_alpha: 2 * o.rank, target_modules: 'all-linear' }), { seed: o.seed });
  const prepared = await inputErrors(() => obj.preparePreferenceRun({ model: loaded.model, tokenizer: tok, pairs, unpaired, config }));
  const cached = evalPairs ? await inputErrors(() => obj.evalReference(loaded.model, tok, evalPairs)) : null;
  const before = cached ? obj.evaluatePolicy(loaded.model, tok, cached, prepared.config.beta) : null;
  const started = performance.now();
  const saveAdapterFiles = async (extra: Record<string, unknown>) => {
    const adapter = peft.encodeAdapterFiles(peft.saveAdapter(pm, { baseModel: o.policy }));
    await mkdir(o.out, { recursive: true });
    for (const [name, content] of Object.entries(adapter)) await writeFile(path.join(o.out, name), content);
    await writeFile(path.join(o.out, 'optimize.json'), JSON.stringify(extra, null, 2) + '\n');
  };
  let hist: import('@tuneloop/objectives').StepMetrics[];
  try {
    hist = await obj.trainPreference({ model: loaded.model, variables: pm.trainableVariables(), tokenizer: tok, pairs, unpaired, config, onStep: (s) => {
      if (o.watch) process.stderr.write(progressLine(s.step, o.steps, s.metrics));
    } }, prepared);
  } catch (e) {
    if (!(e instanceof obj.TrainingDivergedError)) throw e;
    // The weights are those of the last good step: keep them as the checkpoint, and fail with the step and reason.
    await saveAdapterFiles({ status: 'failed', method, failedStep: e.step, reason: e.reason });
    throw new CliError(`FAILED: ${e.message} (adapter of the last good step kept in ${path.resolve(o.out)})`);
  }
  if (o.watch) process.stderr.write('\n');
  const after = cached ? obj.evaluatePolicy(loaded.model, tok, cached, prepared.config.beta) : null;
  const summary = { out: path.resolve(o.out), method, lossType: method === 'dpo' || method === 'ipo' ? prepared.config.lossType : null, beta: prepared.config.beta, backend: info.name, examples: pairs?.length ?? unpaired?.length ?? 0, steps: hist.length, finalMetrics: hist[hist.length - 1].metrics, evalBefore: before, evalAfter: after, seconds: (performance.now() - started) / 1000 };
  await saveAdapterFiles({ status: 'succeeded', ...summary });
  pm.unload();
  loaded.model.dispose();
  return summary;
}

export function register(program: Command): void {
  const opt = program.command('optimize').description('Preference optimization of a LoRA policy: DPO, IPO, ORPO, SimPO, KTO (runs locally).');
  for (const method of ['dpo', 'ipo', 'orpo', 'simpo', 'kto']) {
    const c = opt
      .command(method)
      .description(`${method.toUpperCase()} on TRL preference JSONL${method === 'kto' ? ' (or {prompt, completion, label})' : ''}; writes a PEFT LoRA adapter`)
      .requiredOption('--policy <dir>', 'policy (and reference) model folder')
      .requiredOption('--data <file>', 'training data, JSONL')
      .requiredOption('--out <dir>', 'adapter output folder')
      .option('--eval <file>', 'held-out pairs: implicit-reward accuracy and win rate before and after');
    if (method === 'dpo') c.option('--loss-type <t>', 'sigmoid, hinge, ipo or robust', 'sigmoid');
    if (method === 'simpo') c.option('--gamma <g>', 'target margin (default 1)', num);
    c.option('--beta <b>', 'beta (default 0.1; simpo 2)', num)
      .option('--steps <n>', 'optimizer steps', num, 100)
      .option('--batch-size <n>', 'pairs per step', num, 16)
      .option('--lr <x>', 'peak learning rate', num, 5e-3)
      .option('--rank <r>', 'LoRA rank', num, 8)
      .option('--seed <n>', 'seed', num, 1)
      .option('--watch', 'progress on stderr')
      .option('--json', 'print JSON')
      .action(async (o: OptimizeOpts) => {
        const s = await optimize(method, o);
        emit(!!o.json, s, (v) =>
          [
            `saved ${v.out} (${v.method}${v.lossType ? `/${v.lossType}` : ''}, beta ${v.beta}, ${v.steps} steps, loss ${v.finalMetrics.loss.toFixed(4)})`,
            ...(v.evalBefore && v.evalAfter
              ? [`held-out implicit-reward accuracy ${(100 * v.evalBefore.rewardAccuracyTiesHalf).toFixed(1)}% -> ${(100 * v.evalAfter.rewardAccuracy).toFixed(1)}%, win rate ${(100 * v.evalBefore.winRateNorm).toFixed(1)}% -> ${(100 * v.evalAfter.winRateNorm).toFixed(1)}%`]
              : []),
          ].join('\n'),
        );
      });
  }
}
