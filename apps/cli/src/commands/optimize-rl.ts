// `tuneloop optimize grpo|ppo|best-of-n --policy REF --data F.jsonl [--watch]`: RL fine-tuning of a LoRA policy with
// a verifier (GRPO, or best-of-N rejection sampling + SFT) or a reward model (PPO), as a preference-optimizer job
// (the default; live reward / pass rate / KL / clip ratio per step with --watch), or with `--local --out DIR` in
// this process. Rows are {prompt, answer} (also `reference`, or TRL {prompt, completion}: the completion is the
// reference). Adds subcommands to `optimize` (optimize.ts).
import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobSpec } from '@tuneloop/proto';
import { CliError, emit } from '../output.ts';
import { dataUriOf, refOf, submit } from './optimize-service.ts';

type Method = 'grpo' | 'best-of-n' | 'ppo';

interface RlOpts {
  policy: string; data: string; out?: string; eval?: string; verifier: string; steps: number; lr?: number; warmupSteps?: number; rank: number; seed: number; group: number; prompts: number; maxNewTokens: number;
  beta: number; lossType: string; n: number; threshold?: number; rewardModel?: string; klCoef?: number; klTarget?: number; klHorizon?: number; ppoEpochs?: number;
  rollout?: string; local?: boolean; addr?: string; output?: string; initAdapter?: string; method?: string; checkpointEvery?: number; key?: string; watch?: boolean; json?: boolean;
}

/**
 * Learning rates of the measured RL recipe (bench/grpo.ts, ppo.ts, best-of-n.ts; LoRA r 8): GRPO and PPO 3e-4 (libs/rl's
 * defaults), best-of-N's SFT on the winners 1e-3. A job through the service leaves --lr out and gets the same.
 */
export const RL_DEFAULT_LR: Record<Method, number> = { grpo: 3e-4, ppo: 3e-4, 'best-of-n': 1e-3 };

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
    const ref = o.answer ?? o.reference ?? o.completion;
    if (typeof o.prompt !== 'string' || o.prompt === '') throw new CliError(`${flag}: ${path.basename(file)} line ${i + 1}: prompt: must be a non-empty string`, 2);
    if (ref !== undefined && typeof ref !== 'string' && typeof ref !== 'number') throw new CliError(`${flag}: ${path.basename(file)} line ${i + 1}: reference: must be a string`, 2);
    rows.push({ prompt: o.prompt, reference: ref === undefined ? undefined : String(ref) });
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

/** A reward-model folder (`tuneloop reward train --out`): the trunk + score.safetensors, as a scorer of (prompt, completion). */
async function localRewardModel(dir: string) {
  const [tf, { loadModel }, model, obj] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tuneloop/files'), import('@tuneloop/model'), import('@tuneloop/objectives')]);
  const loaded = await loadModel(dir);
  const bytes = await readFile(path.join(dir, 'score.safetensors')).catch(() => {
    throw new CliError(`--reward-model: ${dir} has no score.safetensors (not a reward model folder)`, 2);
  });
  const raw = model.parseSafetensors(new Uint8Array(bytes)).tensors.get(model.REWARD_HEAD_NAME);
  if (!raw || !loaded.tokenizer) throw new CliError(`--reward-model: ${dir} has no '${model.REWARD_HEAD_NAME}' tensor or no tokenizer.json`, 2);
  const head = model.tensorFromRaw(raw);
  const rm = new model.RewardModel(loaded.model, { head });
  head.dispose();
  const tok = loaded.tokenizer;
  const enc = (t: string) => (t === '' ? [] : tok.encode(t, { addSpecialTokens: false }));
  const score = (prompts: string[], completions: string[]) => {
    const seqs = prompts.map((p, i) => [...(tok.bosTokenId === undefined ? [] : [tok.bosTokenId]), ...enc(p), ...enc(completions[i]), ...(tok.eosTokenId === undefined ? [] : [tok.eosTokenId])]);
    const s = tf.tidy(() => rm.scores(obj.packSequences(seqs, tok.padTokenId ?? 0)));
    const out = [...s.dataSync()];
    s.dispose();
    return out;
  };
  return { score, dispose: () => (rm.dispose(), loaded.model.dispose()) };
}

/** The StartOptimization request of an RL command. */
async function rlRequest(method: Method, o: RlOpts) {
  const { StartOptimizationRequest, GrpoConfig, PpoConfig, BestOfNConfig } = await import('@tuneloop/proto');
  const sampling = { maxNewTokens: o.maxNewTokens, temperature: 0, topP: 0, topK: 0, seed: 0, stop: [] };
  const verifier = { json: o.verifier.trim().startsWith('{') ? o.verifier : JSON.stringify({ type: o.verifier }) };
  if (method === 'grpo' && o.beta < 0) throw new CliError(`beta: must be >= 0, got ${o.beta}`, 2);
  const objective: JobSpec['objective'] =
    method === 'grpo'
      ? { $case: 'grpo' as const, value: GrpoConfig.fromPartial({ groupSize: o.group, beta: o.beta, lossType: o.lossType, verifier, sampling }) }
      : method === 'ppo'
        ? { $case: 'ppo' as const, value: PpoConfig.fromPartial({ rewardModel: o.rewardModel ? refOf(o.rewardModel, '--reward-model') : undefined, initKlCoef: o.klCoef ?? 0, targetKl: o.klTarget ?? 0, klHorizon: o.klHorizon ?? 0, ppoEpochs: o.ppoEpochs ?? 0, sampling }) }
        : { $case: 'bestOfN' as const, value: BestOfNConfig.fromPartial({ n: o.n, verifier, sampling, threshold: o.threshold }) };
  return StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: refOf(o.policy, '--policy'),
      initAdapter: o.initAdapter ? refOf(o.initAdapter, '--init-adapter') : undefined,
      outputName: o.output ?? '',
      dataset: { uri: dataUriOf(o.data, '--data'), format: 5 },
      training: { learningRate: o.lr ?? 0, maxSteps: o.steps, batchSize: method === 'best-of-n' ? 16 : o.prompts, seed: o.seed, warmupSteps: o.warmupSteps ?? 0 },
      objective,
    },
    idempotencyKey: o.key ?? '',
    options: {
      method: o.method ?? '', rank: o.initAdapter || o.method === 'full' || o.method === 'partial' ? 0 : o.rank, // the default rank is LoRA's; full / partial take none checkpointEvery: o.checkpointEvery ?? 0, evalDataset: o.eval ? { uri: dataUriOf(o.eval, '--eval'), format: 5 } : undefined,
      rollout: o.rollout ?? '',
    },
  });
}

async function runRl(method: Method, o: RlOpts & { out: string }) {
  const [{ initBackend }, files, peft, rl, ver] = await Promise.all([
    import('@tuneloop/engine'), import('@tuneloop/files'), import('@tuneloop/peft'), import('@tuneloop/rl'), import('@tuneloop/verifiers'),
  ]);
  if (method === 'ppo' && o.eval) throw new CliError('--eval: greedy pass@1 needs a verifier (grpo, best-of-n)', 2);
  const verifier = await inputErrors(() => ver.createVerifier(method === 'ppo' ? 'numeric' : o.verifier));
  const rmScorer = method === 'ppo' ? await localRewardModel(o.rewardModel ?? '') : undefined;
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
  const lr = o.lr ?? RL_DEFAULT_LR[method];
  if (method === 'grpo') {
    const config = { steps: o.steps, promptsPerStep: o.prompts, groupSize: o.group, lr, warmupSteps: o.warmupSteps, beta: o.beta, lossType: o.lossType as 'dapo', maxNewTokens: o.maxNewTokens, seed: o.seed };
    await inputErrors(() => rl.prepareGrpo({ model, variables: pm.trainableVariables(), tokenizer: tok, prompts, verifier, config }));
    const hist = await rl.trainGrpo({
      model, variables: pm.trainableVariables(), tokenizer: tok, prompts, verifier, config,
      onStep: (m) => {
        const x = m.metrics;
        if (o.watch) process.stderr.write(`\r[${m.step + 1}/${o.steps}] reward ${x.reward.toFixed(3)} pass ${x.pass_rate.toFixed(3)} kl ${x.kl.toFixed(4)} clip ${x.clip_ratio.toFixed(3)} `);
      },
    });
    final = hist[hist.length - 1].metrics;
  } else if (method === 'ppo') {
    const config = { steps: o.steps, promptsPerStep: o.prompts, lr, klCoef: o.klCoef, klTarget: o.klTarget, klHorizon: o.klHorizon, ppoEpochs: o.ppoEpochs, maxNewTokens: o.maxNewTokens, seed: o.seed };
    try {
      const r = await inputErrors(() => rl.trainPpo({
        model, variables: pm.trainableVariables(), tokenizer: tok, prompts, score: rmScorer!.score, config,
        onStep: (m) => {
          const x = m.metrics;
          if (o.watch) process.stderr.write(`\r[${m.step + 1}/${o.steps}] reward ${x.score.toFixed(3)} kl ${x.kl.toFixed(4)} kl_coef ${x.kl_coef.toFixed(4)} clip ${x['policy/clipfrac_avg'].toFixed(3)} `);
        },
      }));
      r.valueHead.dispose();
      final = r.history[r.history.length - 1].metrics;
    } finally {
      rmScorer!.dispose();
    }
  } else {
    const r = await inputErrors(() => rl.bestOfN({
      model, variables: pm.trainableVariables(), tokenizer: tok, prompts, verifier,
      config: { n: o.n, threshold: o.threshold, maxNewTokens: o.maxNewTokens, sftSteps: o.steps, lr, seed: o.seed },
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
  const describe: Record<Method, string> = {
    grpo: 'GRPO with a verifier on prompt JSONL; stores a PEFT LoRA adapter (--local: writes it to --out)',
    ppo: 'PPO / RLHF with a reward model on prompt JSONL; stores a PEFT LoRA adapter (--local: writes it to --out)',
    'best-of-n': 'best-of-N rejection sampling + SFT on the winners; stores a PEFT LoRA adapter (--local: writes it to --out)',
  };
  for (const method of ['grpo', 'ppo', 'best-of-n'] as const) {
    const c = opt
      .command(method)
      .description(describe[method])
      .requiredOption('--policy <ref|dir>', 'policy: name@version in the model store, or a model folder (--local: a folder); the reference is the starting policy')
      .requiredOption('--data <file>', 'training prompts, JSONL {prompt, answer}')
      .option('--out <dir>', 'adapter output folder (--local)')
      .option('--eval <file>', 'held-out prompts: greedy pass@1 before and after')
      .option('--local', 'run in this process instead of submitting a job')
      .option('--addr <host:port>', 'gRPC address of the services (default TUNELOOP_GRPC_ADDR)')
      .option('--output <name>', 'adapter name in the model store (default <policy>-<objective>)')
      .option('--init-adapter <ref|dir>', 'continue from this adapter')
      .option('--method <name>', 'PEFT method (default lora)')
      .option('--checkpoint-every <n>', 'checkpoint every N steps (default 10)', num)
      .option('--key <idempotency-key>', 'same key, same job (safe retries)')
      .option('--max-new-tokens <n>', 'tokens per completion', num, 8)
      .option('--steps <n>', method === 'best-of-n' ? 'SFT steps on the winners' : 'generation batches', num, 40)
      .option('--lr <x>', `learning rate (default: the measured recipe, ${RL_DEFAULT_LR[method]})`, num)
      .option('--rank <r>', 'LoRA rank', num, 8)
      .option('--seed <n>', 'seed', num, 1);
    if (method !== 'ppo') c.option('--verifier <spec>', 'verifier name or JSON spec', 'numeric');
    if (method === 'ppo') {
      c.requiredOption('--reward-model <ref|dir>', 'reward model: name@version in the model store or a folder (tuneloop reward train --out)')
        .option('--prompts <p>', 'prompts per rollout batch', num, 16)
        .option('--kl-coef <x>', 'initial (or fixed) KL coefficient (default 0.3)', num)
        .option('--kl-target <x>', 'adaptive KL controller target, summed KL per sequence', num)
        .option('--kl-horizon <n>', 'adaptive KL controller horizon (default 100)', num)
        .option('--ppo-epochs <n>', 'optimizer steps per batch (default 4)', num);
    } else if (method === 'grpo') {
      c.option('--group <g>', 'completions per prompt (>= 2)', num, 8)
        .option('--prompts <p>', 'prompts per generation batch', num, 16)
        .option('--warmup-steps <n>', 'linear lr warmup over the first optimizer steps (default 0)', num)
        .option('--beta <b>', 'KL coefficient', num, 0)
        .option('--loss-type <t>', 'grpo, bnpo, dr_grpo or dapo', 'dapo')
        .option('--rollout <where>', 'where the job samples: local (its own thread, default) or service (the rollout workers; the adapter is synced through the model store every batch)');
    } else {
      c.option('--n <n>', 'samples per prompt', num, 8).option('--threshold <x>', 'keep a winner only with score >= x', num);
    }
    c.option('--watch', 'live progress on stderr (reward, pass rate, KL, clip ratio per step)')
      .option('--json', 'print JSON')
      .action(async (o: RlOpts) => {
        if (o.rollout !== undefined && o.rollout !== 'local' && o.rollout !== 'service') throw new CliError(`--rollout: must be local or service, got ${JSON.stringify(o.rollout)}`, 2);
        if (o.local && o.rollout === 'service') throw new CliError('--rollout service: a job of the services samples there; --local runs in this process', 2);
        if (!o.local) return submit(await rlRequest(method, o), o);
        if (!o.out) throw new CliError('--out: required with --local (the adapter folder)', 2);
        const s = await runRl(method, o as RlOpts & { out: string });
        emit(!!o.json, s, (v) =>
          [
            `saved ${v.out} (${v.method}, ${v.steps} steps, ${v.seconds.toFixed(1)} s)`,
            ...(v.passAt1Before !== null ? [`held-out greedy pass@1 ${(100 * v.passAt1Before).toFixed(1)}% -> ${(100 * (v.passAt1After ?? 0)).toFixed(1)}%`] : []),
          ].join('\n'),
        );
      });
  }
}
