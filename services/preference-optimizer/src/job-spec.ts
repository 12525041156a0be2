// The optimization job spec: a StartOptimizationRequest (JobSpec objective oneof + OptimizationOptions) checked and
// normalised into plain JSON that travels on jobs.optimize.preference / jobs.optimize.rl. Pure: no files read here
// (prepare.ts reads the model and the data); every problem is an InvalidArgumentError naming the field.
import { PREFERENCE_RECIPE } from '@tuneloop/objectives';
import type { BestOfNConfig as RlBestOfNConfig, GrpoConfig as RlGrpoConfig, PpoConfig as RlPpoConfig } from '@tuneloop/rl';
import { DpoLossType, LossAggregation, type JobSpec, type OptimizationOptions, type SamplingParams, type VerifierSpec } from '@tuneloop/proto';
import { InvalidArgumentError } from '@tuneloop/service-kit';

export const PREFERENCE_OBJECTIVES = ['dpo', 'ipo', 'orpo', 'simpo', 'kto'] as const;
export const RL_OBJECTIVES = ['grpo', 'ppo', 'best_of_n'] as const;
export type PreferenceObjective = (typeof PREFERENCE_OBJECTIVES)[number];
export type RlObjective = (typeof RL_OBJECTIVES)[number];
export type Objective = PreferenceObjective | RlObjective;

/** Work-queue subject of each family. */
export const SUBJECTS = { preference: 'jobs.optimize.preference', rl: 'jobs.optimize.rl' } as const;

/** The preference objective's settings (names of @tuneloop/objectives' PreferenceTrainConfig). */
export interface PreferenceSettings {
  method: 'dpo' | 'ipo' | 'orpo' | 'simpo' | 'kto';
  lossType?: 'sigmoid' | 'hinge' | 'robust';
  beta?: number;
  gamma?: number;
  labelSmoothing?: number;
  cpoAlpha?: number;
  desirableWeight?: number;
  undesirableWeight?: number;
}

export interface Training {
  /** optimizer steps (preference, best-of-N SFT) or generation batches (GRPO, PPO); 0: from epochs */
  maxSteps: number;
  epochs: number;
  batchSize: number;
  lr: number;
  warmupSteps: number; // -1: 10% of the steps
  weightDecay: number;
  maxGradNorm: number; // 0: no clipping
  maxLength: number; // 0: the model's context
  seed: number;
}

/** What a worker needs to run the job (plain JSON). */
export interface OptimizeJobSpec {
  objective: Objective;
  family: 'preference' | 'rl';
  /** the base model as the user named it, and where the worker finds it */
  base: { name: string; version: string };
  initAdapter?: { name: string; version: string };
  outputName: string;
  dataset: { uri: string; format: 'preference' | 'unpaired' | 'prompts' | 'auto' };
  evalDataset?: { uri: string };
  method: string; // PEFT registry name
  methodConfig: Record<string, unknown>; // PEFT field names (parsed against the model by prepare.ts)
  training: Training;
  evalFraction: number;
  evalEvery: number;
  checkpointEvery: number;
  preference?: PreferenceSettings;
  grpo?: Omit<RlGrpoConfig, 'steps' | 'promptsPerStep' | 'lr' | 'seed' | 'weightDecay' | 'clipNorm'>;
  ppo?: Omit<RlPpoConfig, 'steps' | 'promptsPerStep' | 'lr' | 'seed'> & { rewardModel: { name: string; version: string } };
  bestOfN?: Omit<RlBestOfNConfig, 'sftSteps' | 'batchSize' | 'lr' | 'seed'>;
  /** a @tuneloop/verifiers spec (GRPO, best-of-N) */
  verifier?: Record<string, unknown>;
  /** the reward model of a `reward_model` verifier (scored in the job's thread) */
  verifierRewardModel?: { name: string; version: string };
  /** the model store the API used (a worker prefers TUNELOOP_MODEL_STORE_ADDR) */
  storeTarget?: string;
  /** GRPO: sample on the rollout service's workers (the adapter synced through the model store every batch) */
  rollout?: 'service';
  /** best-of-N / GRPO on the rollout service: the rollout service and the adapter trainer the API knew (a worker prefers TUNELOOP_ROLLOUT_ADDR / TUNELOOP_ADAPTER_TRAINER_ADDR) */
  rolloutTarget?: string;
  trainerTarget?: string;
  /** best-of-N: the method config as requested (PEFT field names), for the adapter trainer's SFT job */
  sftMethodConfig?: Record<string, unknown>;
}

function bad(field: string, problem: string): never {
  throw new InvalidArgumentError(field, problem);
}

/** The verifier spec, with a reward-model verifier's model ref split out (the verifiers library takes no ref). */
function verifierFields(v: VerifierSpec | undefined, field: string): Pick<OptimizeJobSpec, 'verifier' | 'verifierRewardModel'> {
  const { model, ...verifier } = verifierOf(v, field) as Record<string, unknown> & { model?: { name: string; version: string } };
  if (verifier.type === 'reward_model' && !model) bad(`${field}.reward_model`, 'a reward-model verifier needs the model: set VerifierSpec.reward_model (name[@version])');
  return model ? { verifier, verifierRewardModel: model } : { verifier };
}

const set = <T>(v: T | undefined | null, unset: T): T | undefined => (v === undefined || v === null || v === unset ? undefined : v);

function positive(field: string, v: number | undefined): number | undefined {
  if (v === undefined || v === 0) return undefined; // proto3: 0 is "not set"
  if (!(v > 0) || !Number.isFinite(v)) bad(field, `must be > 0, got ${v}`);
  return v;
}

function nonNegative(field: string, v: number | undefined): number | undefined {
  if (v === undefined || v === 0) return undefined;
  if (!(v >= 0) || !Number.isFinite(v)) bad(field, `must be >= 0, got ${v}`);
  return v;
}

function int(field: string, v: number | undefined, min: number, dflt: number): number {
  const x = v === undefined || v === 0 ? dflt : v;
  if (!Number.isInteger(x) || x < min) bad(field, `must be an integer >= ${min}, got ${x}`);
  return x;
}

const DPO_LOSS: Record<number, 'sigmoid' | 'hinge' | 'robust'> = {
  [DpoLossType.UNSPECIFIED]: 'sigmoid',
  [DpoLossType.SIGMOID]: 'sigmoid',
  [DpoLossType.HINGE]: 'hinge',
  [DpoLossType.ROBUST]: 'robust',
};

function preferenceOf(o: NonNullable<JobSpec['objective']>): PreferenceSettings | undefined {
  switch (o.$case) {
    case 'dpo': {
      const lossType = DPO_LOSS[o.value.lossType];
      if (!lossType) bad('spec.dpo.loss_type', `unknown loss type ${o.value.lossType} (known: sigmoid, hinge, robust; IPO is the ipo objective)`);
      const ls = o.value.labelSmoothing;
      if (ls !== 0 && !(ls >= 0 && ls < 0.5)) bad('spec.dpo.label_smoothing', `must be in [0, 0.5), got ${ls}`);
      return { method: 'dpo', lossType, beta: positive('spec.dpo.beta', o.value.beta), labelSmoothing: ls || undefined };
    }
    case 'ipo':
      // IPO's tau is TRL's beta for loss_type "ipo"; unset: the recipe's (1: 0.1 asks for a 5-nat margin per token)
      return { method: 'ipo', beta: positive('spec.ipo.tau', o.value.tau) ?? PREFERENCE_RECIPE.beta.ipo };
    case 'orpo':
      // ORPO's lambda (weight of the odds-ratio term) is TRL's beta
      return { method: 'orpo', beta: positive('spec.orpo.lambda', o.value.lambda) };
    case 'simpo': {
      const ls = o.value.labelSmoothing;
      if (ls !== 0 && !(ls >= 0 && ls < 0.5)) bad('spec.simpo.label_smoothing', `must be in [0, 0.5), got ${ls}`);
      return {
        method: 'simpo', beta: positive('spec.simpo.beta', o.value.beta), gamma: nonNegative('spec.simpo.gamma', o.value.gamma),
        labelSmoothing: ls || undefined, cpoAlpha: nonNegative('spec.simpo.cpo_alpha', o.value.cpoAlpha),
      };
    }
    case 'kto':
      return {
        method: 'kto', beta: positive('spec.kto.beta', o.value.beta),
        desirableWeight: positive('spec.kto.desirable_weight', o.value.desirableWeight), undesirableWeight: positive('spec.kto.undesirable_weight', o.value.undesirableWeight),
      };
    default:
      return undefined;
  }
}

/** A VerifierSpec (proto) as a @tuneloop/verifiers spec object; the JSON form wins when set. */
export function verifierOf(v: VerifierSpec | undefined, field: string): Record<string, unknown> {
  if (!v) bad(field, 'required (e.g. {"json": "{\\"type\\":\\"numeric\\"}"} or exact_answer)');
  if (v.json) {
    let obj: unknown;
    try {
      obj = JSON.parse(v.json);
    } catch (e) {
      bad(`${field}.json`, `is not valid JSON (${(e as Error).message})`);
    }
    if (typeof obj === 'string') return { type: obj };
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) bad(`${field}.json`, 'must be a verifier spec object with a "type"');
    return obj as Record<string, unknown>;
  }
  const k = v.kind;
  if (!k) bad(field, 'no verifier given (set json, exact_answer, tests_passed or json_schema)');
  switch (k.$case) {
    case 'exactAnswer':
      if (k.value.answerPattern) bad(`${field}.exact_answer.answer_pattern`, 'is not supported; use json with a regex or exact_match verifier');
      return { type: 'numeric' };
    case 'testsPassed':
      return k.value.timeoutMs > 0 ? { type: 'code', testTimeoutMs: k.value.timeoutMs } : { type: 'code' };
    case 'jsonSchema': {
      let schema: unknown;
      try {
        schema = JSON.parse(k.value.schemaJson);
      } catch (e) {
        bad(`${field}.json_schema.schema_json`, `is not valid JSON (${(e as Error).message})`);
      }
      return { type: 'json_schema', schema };
    }
    case 'rewardModel':
      if (!k.value.name) bad(`${field}.reward_model.name`, 'required: the reward model (name[@version] or a folder)');
      return { type: 'reward_model', model: { name: k.value.name, version: k.value.version } };
    default:
      return bad(field, 'unknown verifier kind');
  }
}

function sampling(s: SamplingParams | undefined, field: string): { maxNewTokens?: number; temperature?: number; topK?: number; topP?: number } {
  if (!s) return {};
  if (s.stop.length > 0) bad(`${field}.stop`, 'stop strings are not supported in optimization jobs (completions end at EOS or max_new_tokens)');
  if (s.seed) bad(`${field}.seed`, 'set training.seed (sampling seeds derive from it and the step)');
  const out: { maxNewTokens?: number; temperature?: number; topK?: number; topP?: number } = {};
  if (s.maxNewTokens) out.maxNewTokens = int(`${field}.max_new_tokens`, s.maxNewTokens, 1, 8);
  if (s.temperature) out.temperature = positive(`${field}.temperature`, s.temperature);
  if (s.topK) out.topK = int(`${field}.top_k`, s.topK, 0, 0);
  if (s.topP) {
    if (!(s.topP > 0 && s.topP <= 1)) bad(`${field}.top_p`, `must be in (0, 1], got ${s.topP}`);
    out.topP = s.topP;
  }
  return out;
}

const AGG: Record<number, 'grpo' | 'dapo' | 'dr_grpo' | undefined> = {
  [LossAggregation.UNSPECIFIED]: undefined,
  [LossAggregation.SEQUENCE_MEAN]: 'grpo',
  [LossAggregation.TOKEN_MEAN]: 'dapo',
  [LossAggregation.SEQUENCE_SUM_NORM]: 'dr_grpo',
};
const GRPO_LOSS = ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const;
const SCALE = ['group', 'batch', 'none'] as const;

/** The objective's family and its resolved settings (defaults left to the libraries, which check them again). */
export function objectiveOf(spec: JobSpec): Pick<OptimizeJobSpec, 'objective' | 'family' | 'preference' | 'grpo' | 'ppo' | 'bestOfN' | 'verifier'> {
  const o = spec.objective;
  if (!o) bad('spec.objective', `required: one of ${[...PREFERENCE_OBJECTIVES, ...RL_OBJECTIVES].join(', ')}`);
  const pref = preferenceOf(o);
  if (pref) return { objective: pref.method, family: 'preference', preference: pref };
  switch (o.$case) {
    case 'grpo': {
      const g = o.value;
      if (g.groupSize !== 0 && (!Number.isInteger(g.groupSize) || g.groupSize < 2)) bad('spec.grpo.group_size', `must be an integer >= 2, got ${g.groupSize}`);
      const aggregation = AGG[g.lossAggregation];
      if (!(g.lossAggregation in AGG)) bad('spec.grpo.loss_aggregation', `unknown value ${g.lossAggregation}`);
      if (g.lossType && !(GRPO_LOSS as readonly string[]).includes(g.lossType)) bad('spec.grpo.loss_type', `must be one of ${GRPO_LOSS.join(', ')}, got ${JSON.stringify(g.lossType)}`);
      if (g.scaleRewardsMode && !(SCALE as readonly string[]).includes(g.scaleRewardsMode)) bad('spec.grpo.scale_rewards_mode', `must be one of ${SCALE.join(', ')}, got ${JSON.stringify(g.scaleRewardsMode)}`);
      if (g.epsilonLow !== 0 && !(g.epsilonLow > 0 && g.epsilonLow < 1)) bad('spec.grpo.epsilon_low', `must be in (0, 1), got ${g.epsilonLow}`);
      const grpo: OptimizeJobSpec['grpo'] = {
        groupSize: set(g.groupSize, 0),
        numIterations: g.numIterations ? int('spec.grpo.num_iterations', g.numIterations, 1, 2) : undefined,
        beta: g.beta === 0 ? undefined : nonNegative('spec.grpo.beta', g.beta),
        epsilonLow: set(g.epsilonLow, 0),
        epsilonHigh: positive('spec.grpo.epsilon_high', g.epsilonHigh),
        lossType: (g.lossType || aggregation) as 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo' | undefined,
        scaleRewards: (g.scaleRewardsMode || (g.scaleRewards ? 'group' : undefined)) as 'group' | 'batch' | 'none' | undefined,
        maskTruncatedCompletions: g.maskTruncatedCompletions || undefined,
        passThreshold: g.passThreshold,
        ...sampling(g.sampling, 'spec.grpo.sampling'),
      };
      return { objective: 'grpo', family: 'rl', grpo: strip(grpo), ...verifierFields(g.verifier, 'spec.grpo.verifier') };
    }
    case 'ppo': {
      const p = o.value;
      if (!p.rewardModel?.name) bad('spec.ppo.reward_model', 'required: the reward model (name[@version]) that scores completions');
      if (p.lam !== 0 && !(p.lam >= 0 && p.lam <= 1)) bad('spec.ppo.lam', `must be in [0, 1], got ${p.lam}`);
      if (p.gamma !== 0 && !(p.gamma >= 0 && p.gamma <= 1)) bad('spec.ppo.gamma', `must be in [0, 1], got ${p.gamma}`);
      const s = sampling(p.sampling, 'spec.ppo.sampling');
      if (s.topK || s.topP) bad('spec.ppo.sampling', 'top_k / top_p are not supported by the PPO trainer');
      const ppo: NonNullable<OptimizeJobSpec['ppo']> = {
        rewardModel: { name: p.rewardModel.name, version: p.rewardModel.version },
        klCoef: nonNegative('spec.ppo.init_kl_coef', p.initKlCoef),
        klTarget: positive('spec.ppo.target_kl', p.targetKl),
        klHorizon: p.klHorizon ? int('spec.ppo.kl_horizon', p.klHorizon, 1, 10000) : undefined,
        gamma: set(p.gamma, 0),
        lam: set(p.lam, 0),
        clipRange: positive('spec.ppo.cliprange', p.cliprange),
        clipRangeValue: positive('spec.ppo.cliprange_value', p.cliprangeValue),
        vfCoef: nonNegative('spec.ppo.vf_coef', p.vfCoef),
        ppoEpochs: p.ppoEpochs ? int('spec.ppo.ppo_epochs', p.ppoEpochs, 1, 4) : undefined,
        maxNewTokens: s.maxNewTokens,
        temperature: s.temperature,
      };
      return { objective: 'ppo', family: 'rl', ppo: strip(ppo) as NonNullable<OptimizeJobSpec['ppo']> };
    }
    case 'bestOfN': {
      const b = o.value;
      if (b.n !== 0 && (!Number.isInteger(b.n) || b.n < 1)) bad('spec.best_of_n.n', `must be an integer >= 1, got ${b.n}`);
      if (b.keepTopK > 1) bad('spec.best_of_n.keep_top_k', `only 1 (the best completion per prompt) is supported, got ${b.keepTopK}`);
      if (b.threshold !== undefined && !Number.isFinite(b.threshold)) bad('spec.best_of_n.threshold', `must be a finite number, got ${b.threshold}`);
      const s = sampling(b.sampling, 'spec.best_of_n.sampling');
      if (s.topK || s.topP) bad('spec.best_of_n.sampling', 'top_k / top_p are not supported by best-of-N');
      return {
        objective: 'best_of_n', family: 'rl',
        bestOfN: strip({ n: b.n || 8, threshold: b.threshold, maxNewTokens: s.maxNewTokens, temperature: s.temperature }) as NonNullable<OptimizeJobSpec['bestOfN']>,
        ...verifierFields(b.verifier, 'spec.best_of_n.verifier'),
      };
    }
    default:
      return bad('spec.objective', `the preference optimizer runs ${[...PREFERENCE_OBJECTIVES, ...RL_OBJECTIVES].join(', ')}, got ${o.$case}`);
  }
}

/** Drops undefined fields (the spec travels as JSON and is compared in tests). */
function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Defaults per family, the measured recipes: preference = @tuneloop/objectives PREFERENCE_RECIPE (LoRA r 8, lr 1e-3,
 * 150 steps of 16 pairs; epochs, when set, count instead of the steps); RL = libs/rl's defaults as measured by
 * bench/grpo.ts, ppo.ts, best-of-n.ts (GRPO lr 3e-4, 40 batches of 16 prompts; PPO lr 3e-4, 40 batches of 16;
 * best-of-N SFT lr 1e-3, 40 steps of 16 winners).
 */
export const DEFAULTS = {
  preference: { lr: PREFERENCE_RECIPE.lr, batchSize: PREFERENCE_RECIPE.batchSize, maxSteps: PREFERENCE_RECIPE.steps },
  grpo: { lr: 3e-4, batchSize: 16, maxSteps: 40 },
  ppo: { lr: 3e-4, batchSize: 16, maxSteps: 40 },
  best_of_n: { lr: 1e-3, batchSize: 16, maxSteps: 40 },
};

export function trainingOf(spec: JobSpec, objective: Objective): Training {
  const t = spec.training;
  // a preference job given epochs (and no max_steps) runs them; otherwise the recipe's steps
  const d = objective === 'grpo' || objective === 'ppo' || objective === 'best_of_n' ? DEFAULTS[objective] : { ...DEFAULTS.preference, maxSteps: t?.epochs ? 0 : DEFAULTS.preference.maxSteps };
  const lr = t?.learningRate || d.lr;
  // only finiteness and sign: a huge rate is the user's (and diverges visibly: the job FAILS with the step)
  if (!(lr > 0) || !Number.isFinite(lr)) bad('training.learning_rate', `must be a finite number > 0, got ${lr}`);
  if (t?.lrScheduler && t.lrScheduler !== 'cosine') bad('training.lr_scheduler', `only "cosine" (warmup then cosine to lr/10) is supported, got ${JSON.stringify(t.lrScheduler)}`);
  if (t?.gradientAccumulationSteps && t.gradientAccumulationSteps !== 1) bad('training.gradient_accumulation_steps', `only 1 is supported, got ${t.gradientAccumulationSteps}`);
  const weightDecay = t?.weightDecay ?? 0;
  if (!(weightDecay >= 0)) bad('training.weight_decay', `must be >= 0, got ${weightDecay}`);
  const maxGradNorm = t?.maxGradNorm ?? 0;
  if (!(maxGradNorm >= 0)) bad('training.max_grad_norm', `must be >= 0 (0: the default 1), got ${maxGradNorm}`);
  const maxSteps = t?.maxSteps ?? 0;
  if (!Number.isInteger(maxSteps) || maxSteps < 0) bad('training.max_steps', `must be an integer >= 0, got ${maxSteps}`);
  return {
    maxSteps: maxSteps || d.maxSteps,
    epochs: int('training.epochs', t?.epochs, 1, 1),
    batchSize: int('training.batch_size', t?.batchSize, 1, d.batchSize),
    lr,
    warmupSteps: t?.warmupSteps ? int('training.warmup_steps', t.warmupSteps, 0, 0) : -1,
    weightDecay,
    maxGradNorm: maxGradNorm || 1,
    maxLength: int('training.max_seq_length', t?.maxSeqLength, 0, 0),
    seed: t?.seed ?? 0,
  };
}

const ONEOF_NAMES: Record<string, string> = { lora: 'lora', qlora: 'qlora', vera: 'vera', dora: 'dora', adalora: 'adalora', full: 'full', partial: 'partial' };

/** PEFT method name and raw config (PEFT field names) from JobSpec.method and the options; LoRA r 8 / alpha 16 on all linears by default. */
export function methodOf(spec: JobSpec, o: OptimizationOptions | undefined): { method: string; methodConfig: Record<string, unknown> } {
  const fromOneof = spec.method ? ONEOF_NAMES[spec.method.$case] : undefined;
  if (fromOneof && o?.method && o.method !== fromOneof) bad('options.method', `"${o.method}" disagrees with JobSpec.method (${fromOneof})`);
  const method = o?.method || fromOneof || 'lora';
  const rl = PREFERENCE_RECIPE.lora;
  const raw: Record<string, unknown> = method === 'lora' || method === 'dora' ? { r: rl.r, lora_alpha: rl.alpha, target_modules: rl.targetModules } : {};
  const m = spec.method;
  const lora = m?.$case === 'lora' ? m.value : m?.$case === 'dora' || m?.$case === 'qlora' ? m.value.lora : undefined;
  if (lora) {
    if (lora.r) raw.r = lora.r;
    if (lora.alpha) raw.lora_alpha = lora.alpha;
    if (lora.dropout) raw.lora_dropout = lora.dropout;
    if (lora.targetModules.length) raw.target_modules = lora.targetModules;
    if (lora.useRslora) raw.use_rslora = true;
  }
  if (m?.$case === 'partial') {
    if (m.value.trainableModules.length) raw.modules = m.value.trainableModules;
    if (m.value.topKLayers) raw.top_k_blocks = m.value.topKLayers;
    if (m.value.trainHead) raw.head = true;
  }
  if (o?.rank) {
    if (!Number.isInteger(o.rank) || o.rank < 1) bad('options.rank', `must be an integer >= 1, got ${o.rank}`);
    raw.r = o.rank;
    if (!lora?.alpha) raw.lora_alpha = 2 * o.rank;
  }
  if (o?.targetModules.length) raw.target_modules = o.targetModules.length === 1 && o.targetModules[0] === 'all-linear' ? 'all-linear' : o.targetModules;
  if (o?.methodConfigJson) {
    let extra: unknown;
    try {
      extra = JSON.parse(o.methodConfigJson);
    } catch (e) {
      bad('options.method_config_json', `not valid JSON (${(e as Error).message})`);
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) bad('options.method_config_json', 'must be a JSON object');
    Object.assign(raw, extra);
  }
  return { method, methodConfig: raw };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const FORMATS: Record<number, OptimizeJobSpec['dataset']['format'] | undefined> = { 0: 'auto', 3: 'preference', 4: 'unpaired', 5: 'prompts' };

/** Everything of the request that can be checked without reading files. */
export function resolveSpec(spec: JobSpec | undefined, options: OptimizationOptions | undefined): OptimizeJobSpec {
  if (!spec) bad('spec', 'is required');
  const obj = objectiveOf(spec);
  if (!spec.baseModel?.name) bad('spec.base_model.name', 'required: the policy\'s base model (name[@version] in the model store, or a folder)');
  const uri = spec.dataset?.uri ?? '';
  if (!uri) bad('spec.dataset.uri', obj.family === 'rl' ? 'required: prompts JSONL ({"prompt", "answer"?})' : 'required: preference JSONL ({"prompt", "chosen", "rejected"})');
  const format = FORMATS[spec.dataset?.format ?? 0];
  if (!format) bad('spec.dataset.format', `must be PREFERENCE, UNPAIRED or PROMPTS for optimization jobs, got ${spec.dataset?.format}`);
  if (obj.family === 'rl' && format !== 'prompts' && format !== 'auto') bad('spec.dataset.format', `${obj.objective} needs PROMPTS ({"prompt", "answer"?}), got ${format}`);
  if (obj.family === 'preference' && format === 'prompts') bad('spec.dataset.format', `${obj.objective} needs preference pairs (PREFERENCE${obj.objective === 'kto' ? ' or UNPAIRED' : ''}), got PROMPTS`);
  if (format === 'unpaired' && obj.objective !== 'kto') bad('spec.dataset.format', `UNPAIRED data is for kto only, got ${obj.objective}`);
  const { method, methodConfig } = methodOf(spec, options);
  if (obj.objective === 'ppo' && (method === 'full' || method === 'partial')) {
    bad('options.method', 'ppo needs an adapter method (the reference is the policy with its adapter disabled); full / partial are not supported');
  }
  const rollout = options?.rollout ?? '';
  if (rollout !== '' && rollout !== 'local' && rollout !== 'service') bad('options.rollout', `must be "local" or "service", got ${JSON.stringify(rollout)}`);
  if (rollout === 'service' && obj.objective !== 'grpo') bad('options.rollout', `"service" is for grpo (best-of-N always samples on the rollout service; ${obj.objective} samples in the job's thread), got ${obj.objective}`);
  if (rollout === 'service' && (method === 'full' || method === 'partial')) bad('options.rollout', `"service" syncs the policy to the rollout workers as a PEFT adapter every batch: it needs an adapter method, got ${method}`);
  const training = trainingOf(spec, obj.objective);
  // GRPO warms up only when asked (libs/rl default 0, as measured); the other families' -1 means 10% of the steps
  if (obj.grpo && training.warmupSteps >= 0) obj.grpo = { ...obj.grpo, warmupSteps: training.warmupSteps };
  const evalFraction = options?.evalFraction ?? 0;
  if (!(evalFraction >= 0 && evalFraction < 1)) bad('options.eval_fraction', `must be in [0, 1), got ${evalFraction}`);
  if (evalFraction > 0 && options?.evalDataset?.uri) bad('options.eval_fraction', 'give either eval_fraction (a split of the data) or eval_dataset (a held-out file), not both');
  const outputName = spec.outputName || `${spec.baseModel.name.split(/[/@]/).filter(Boolean).pop() ?? 'policy'}-${obj.objective.replace('_', '-')}`.replace(/[^A-Za-z0-9._-]/g, '-');
  if (!NAME_RE.test(outputName)) bad('spec.output_name', `must match ${NAME_RE}, got ${JSON.stringify(outputName)}`);
  return {
    ...obj,
    base: { name: spec.baseModel.name, version: spec.baseModel.version },
    initAdapter: spec.initAdapter?.name ? { name: spec.initAdapter.name, version: spec.initAdapter.version } : undefined,
    outputName,
    dataset: { uri, format },
    evalDataset: options?.evalDataset?.uri ? { uri: options.evalDataset.uri } : undefined,
    ...(rollout === 'service' ? { rollout: 'service' as const } : {}),
    method,
    methodConfig,
    training,
    evalFraction: obj.family === 'preference' && !options?.evalDataset?.uri ? evalFraction || 0.1 : 0,
    evalEvery: int('options.eval_every', options?.evalEvery, 0, 0),
    checkpointEvery: int('options.checkpoint_every', options?.checkpointEvery, 1, 10),
  };
}
