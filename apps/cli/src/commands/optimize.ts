// `tuneloop optimize dpo|ipo|orpo|simpo|kto --policy REF --data F.jsonl [--watch]`: preference optimization of a
// LoRA policy on TRL JSONL (pairs, or KTO's {prompt, completion, label}) as a preference-optimizer job (the default:
// REF is name@version in the model store or a folder the service can read; the adapter lands in the model store),
// or with `--local --policy DIR --out DIR` in this process, writing the adapter in PEFT format.
import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobSpec } from '@tuneloop/proto';
import { CliError, emit } from '../output.ts';
import { dataUriOf, refOf, registerJobCommands, submit } from './optimize-service.ts';
import { inputErrors, num, progressLine, readPreferences } from './reward.ts';

interface OptimizeOpts {
  policy: string; data: string; out?: string; eval?: string; lossType?: string; beta?: number; gamma?: number; labelSmoothing?: number; steps: number; batchSize: number; lr: number; rank: number; seed: number;
  local?: boolean; addr?: string; output?: string; initAdapter?: string; method?: string; evalFraction?: number; evalEvery?: number; checkpointEvery?: number; key?: string; watch?: boolean; json?: boolean;
}

const LOSS_TYPES = ['sigmoid', 'hinge', 'ipo', 'robust'];

/**
 * Fills the flags left out from the measured recipe (@tuneloop/objectives PREFERENCE_RECIPE): 150 steps of 16 pairs,
 * lr 1e-3, LoRA r 8 (alpha 2r, all linears), IPO beta 1; other betas stay the objectives' defaults.
 */
export async function resolvePreferenceOpts<T extends Partial<OptimizeOpts>>(method: string, o: T): Promise<T & Pick<OptimizeOpts, 'steps' | 'batchSize' | 'lr' | 'rank'>> {
  const { PREFERENCE_RECIPE: R } = await import('@tuneloop/objectives');
  const ipo = method === 'ipo' || (method === 'dpo' && o.lossType === 'ipo');
  return { ...o, steps: o.steps ?? R.steps, batchSize: o.batchSize ?? R.batchSize, lr: o.lr ?? R.lr, rank: o.rank ?? R.lora.r, beta: o.beta ?? (ipo ? R.beta.ipo : undefined) };
}

/** The StartOptimization request of a preference command (checks what the wire cannot carry: beta 0, loss type names). */
async function preferenceRequest(method: string, o: OptimizeOpts) {
  const { StartOptimizationRequest, DpoLossType } = await import('@tuneloop/proto');
  if (o.beta !== undefined && !(o.beta > 0)) throw new CliError(`beta: must be > 0, got ${o.beta}`, 2);
  const lossType = o.lossType ?? 'sigmoid';
  if (method === 'dpo' && !LOSS_TYPES.includes(lossType)) throw new CliError(`lossType: must be one of ${LOSS_TYPES.map((t) => `'${t}'`).join(', ')}, got '${lossType}'`, 2);
  const beta = o.beta ?? 0;
  const ls = o.labelSmoothing ?? 0;
  const objective: JobSpec['objective'] =
    method === 'ipo' || (method === 'dpo' && lossType === 'ipo')
      ? { $case: 'ipo' as const, value: { tau: beta } }
      : method === 'dpo'
        ? { $case: 'dpo' as const, value: { beta, lossType: { sigmoid: DpoLossType.SIGMOID, hinge: DpoLossType.HINGE, robust: DpoLossType.ROBUST }[lossType as 'sigmoid'], labelSmoothing: ls } }
        : method === 'orpo'
          ? { $case: 'orpo' as const, value: { lambda: beta } }
          : method === 'simpo'
            ? { $case: 'simpo' as const, value: { beta, gamma: o.gamma ?? 0, labelSmoothing: ls, cpoAlpha: 0 } }
            : { $case: 'kto' as const, value: { beta, desirableWeight: 0, undesirableWeight: 0 } };
  return StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: refOf(o.policy, '--policy'),
      initAdapter: o.initAdapter ? refOf(o.initAdapter, '--init-adapter') : undefined,
      outputName: o.output ?? '',
      dataset: { uri: dataUriOf(o.data, '--data') },
      training: { learningRate: o.lr, maxSteps: o.steps, batchSize: o.batchSize, seed: o.seed },
      objective,
    },
    idempotencyKey: o.key ?? '',
    options: {
      method: o.method ?? '', rank: o.initAdapter || o.method === 'full' || o.method === 'partial' ? 0 : o.rank, // the default rank is LoRA's; full / partial take none evalFraction: o.evalFraction ?? 0, evalEvery: o.evalEvery ?? 0, checkpointEvery: o.checkpointEvery ?? 0,
      evalDataset: o.eval ? { uri: dataUriOf(o.eval, '--eval'), format: 0 } : undefined,
    },
  });
}

async function readKto(file: string) {
  const { parseKtoJsonl } = await import('@tuneloop/datasets');
  const text = await readFile(file, 'utf8');
  return inputErrors(() => parseKtoJsonl(text, { source: path.basename(file) }));
}

async function optimize(method: string, o: OptimizeOpts & { out: string }) {
  const [{ initBackend }, files, peft, obj] = await Promise.all([import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/peft'), import('@tuneloop/objectives')]);
  const config = { method, lossType: o.lossType, beta: o.beta, gamma: o.gamma, labelSmoothing: o.labelSmoothing, steps: o.steps, batchSize: o.batchSize, lr: o.lr, seed: o.seed } as import('@tuneloop/objectives').PreferenceTrainConfig;
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
  const opt = program.command('optimize').description('Policy optimization jobs: DPO, IPO, ORPO, SimPO, KTO, GRPO, PPO, best-of-N (through the preference-optimizer service; --local runs in this process).');
  registerJobCommands(opt);
  for (const method of ['dpo', 'ipo', 'orpo', 'simpo', 'kto']) {
    const c = opt
      .command(method)
      .description(`${method.toUpperCase()} on TRL preference JSONL${method === 'kto' ? ' (or {prompt, completion, label})' : ''}; stores a PEFT LoRA adapter (--local: writes it to --out)`)
      .requiredOption('--policy <ref|dir>', 'policy (and reference): name@version in the model store, or a model folder (--local: a folder)')
      .requiredOption('--data <file>', 'training data, JSONL (or labeling://<project>?round=N through the service)')
      .option('--out <dir>', 'adapter output folder (--local)')
      .option('--eval <file>', 'held-out pairs (service: eval_* metrics on them instead of a split; --local: implicit-reward accuracy and win rate before and after)')
      .option('--local', 'run in this process instead of submitting a job')
      .option('--addr <host:port>', 'gRPC address of the services (default TUNELOOP_GRPC_ADDR)')
      .option('--output <name>', 'adapter name in the model store (default <policy>-<objective>)')
      .option('--init-adapter <ref|dir>', 'continue from this adapter (the starting policy and the reference)')
      .option('--method <name>', 'PEFT method (default lora; full possible)')
      .option('--eval-fraction <x>', 'held-out share of --data for eval_* metrics (default 0.1)', num)
      .option('--eval-every <n>', 'evaluate every N steps (default: start and end)', num)
      .option('--checkpoint-every <n>', 'checkpoint every N steps (default 10)', num)
      .option('--key <idempotency-key>', 'same key, same job (safe retries)');
    if (method === 'dpo') c.option('--loss-type <t>', 'sigmoid, hinge, ipo or robust', 'sigmoid');
    if (method === 'dpo' || method === 'simpo') c.option('--label-smoothing <x>', 'robust DPO / SimPO label smoothing', num);
    if (method === 'simpo') c.option('--gamma <g>', 'target margin (default 1)', num);
    c.option('--beta <b>', `beta (default 0.1; simpo 2; ipo 1${method === 'dpo' ? ' with --loss-type ipo' : ''})`, num)
      .option('--steps <n>', 'optimizer steps (default: the measured recipe, 150)', num)
      .option('--batch-size <n>', 'pairs per step (default: the recipe, 16)', num)
      .option('--lr <x>', 'peak learning rate (default: the recipe, 1e-3)', num)
      .option('--rank <r>', 'LoRA rank (default: the recipe, 8; alpha 2r on all linears)', num)
      .option('--seed <n>', 'seed', num, 1)
      .option('--watch', 'follow the job: loss, accuracy and margin per step on stderr')
      .option('--json', 'print JSON (with --watch: one event per line, then the job)')
      .action(async (opts: OptimizeOpts) => {
        const o = await resolvePreferenceOpts(method, opts);
        if (!o.local) return submit(await preferenceRequest(method, o), o);
        if (!o.out) throw new CliError('--out: required with --local (the adapter folder)', 2);
        const s = await optimize(method, o as OptimizeOpts & { out: string });
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
