// The reward-model job spec: a StartRewardTrainingRequest (JobSpec + RewardTrainingOptions) checked completely
// (base model, method, hyperparameters, every preference pair, encoded with the base's tokenizer) and normalised
// into plain JSON that travels on jobs.train.reward. Every problem is INVALID_ARGUMENT naming the field.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeModel, pullModel, readBase, resolveBaseDir, storeFileFetcher } from '@tuneloop/jobs';
import { encodePairs, ObjectiveInputError, REWARD_MODEL_RECIPE, type PreferenceExample } from '@tuneloop/objectives';
import { getPeftMethod, llamaShapes, shapeConfigFromJson } from '@tuneloop/peft';
import type { JobSpec, RewardTrainingOptions, StartRewardTrainingRequest } from '@tuneloop/proto';
import { InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';
import { loadPreferencePairs, type SourcedPreference } from '@tuneloop/store';
import type { Tokenizer } from '@tuneloop/model';

export interface RewardTraining {
  lr: number;
  warmupSteps: number | null; // null: 10% of the steps
  maxGradNorm: number;
  batchSize: number;
  weightDecay: number;
  seed: number;
  maxLength: number;
}

/** What a worker needs to run a reward-model job (plain JSON). */
export interface RewardJobSpec {
  baseRef: string; // as the user named it (name, name@version, or a folder)
  baseDir: string; // the resolved local folder (a model-store pull lands under TUNELOOP_HOME/cache/models)
  baseStore: { name: string; version: string } | null; // set when the base came from the model store
  storeTarget: string; // gRPC target of the model store as the API saw it
  outputName: string;
  datasetUri: string;
  evalUri: string; // '' = a seeded split of the dataset
  method: 'lora' | 'full';
  loraConfig: Record<string, unknown>; // PEFT field names
  training: RewardTraining;
  totalSteps: number;
  margin: number; // weight of each pair's margin in the loss (0: margins unused)
  center: number; // reward-centering coefficient
  evalFraction: number;
  evalEvery: number;
  checkpointEvery: number;
}

export const LIMITS = { margin: 10, center: 10, lr: 1, batchSize: 1024, steps: 1_000_000, rank: 256 };

/**
 * Defaults of a job that leaves a field unset: the measured reward-model recipe (@tuneloop/objectives
 * REWARD_MODEL_RECIPE: full fine-tuning, lr 3e-4, 400 steps, batch 16, centering 0.01). A LoRA job (JobSpec.method
 * lora) defaults to lr 3e-3 instead: the rate the recipe's LoRA runs used (full fine-tuning's 3e-4 barely moves r 8).
 */
export const REWARD_DEFAULTS = Object.freeze({
  method: REWARD_MODEL_RECIPE.training,
  lr: REWARD_MODEL_RECIPE.lr,
  loraLr: 3e-3,
  loraRank: 8,
  steps: REWARD_MODEL_RECIPE.steps,
  batchSize: REWARD_MODEL_RECIPE.batchSize,
  center: REWARD_MODEL_RECIPE.centerRewardsCoefficient,
});
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function bad(field: string, problem: string): never {
  throw new InvalidArgumentError(field, problem);
}

function int(field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

function range(field: string, v: number, lo: number, hi: number, loOpen = false): number {
  if (!Number.isFinite(v) || (loOpen ? v <= lo : v < lo) || v > hi) bad(field, `must be in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${v}`);
  return v;
}

/**
 * The base model: a folder (absolute, relative to TUNELOOP_HOME, or TUNELOOP_HOME/models/<name>[@version]) or a
 * model-store version `name[@version]`, pulled into TUNELOOP_HOME/cache/models. Unknown -> INVALID_ARGUMENT.
 */
export async function resolveBase(home: string, name: string, version: string, storeTarget: string): Promise<{ dir: string; store: { name: string; version: string } | null }> {
  if (!name) bad('spec.base_model.name', 'must name a model (a folder, a name under TUNELOOP_HOME/models, or a model-store name[@version])');
  let n = name;
  let v = version;
  const at = name.lastIndexOf('@');
  if (!v && at > 0 && !name.includes('/')) {
    n = name.slice(0, at);
    v = name.slice(at + 1);
  }
  const local = resolveBaseDir(home, n, v);
  if (existsSync(path.join(local, 'config.json'))) return { dir: local, store: null };
  if (path.isAbsolute(name) || name.includes('/') || !storeTarget) bad('spec.base_model', `unknown model ${JSON.stringify(name)}: no model folder at ${local}`);
  const info = await describeModel(storeTarget, n, v);
  if (!info?.ref) bad('spec.base_model', `unknown model ${JSON.stringify(name)}: no folder at ${local} and no such model in the model store`);
  const dir = await pullModel(storeTarget, info, path.join(home, 'cache', 'models'));
  return { dir, store: { name: info.ref.name, version: info.ref.version } };
}

/** Reads preference pairs from a file / file:// / labeling:// URI (errors name `field` and the line). */
export async function readPairs(home: string, uri: string, field: string, storeTarget?: string): Promise<{ pairs: SourcedPreference[]; label: string }> {
  if (!uri) bad(field, 'must name the preference pairs (a JSONL file, file:// or labeling:// URI)');
  // the labeling database: TUNELOOP_DATABASE_URL (PostgreSQL or sqlite:<file>), else the SQLite file under TUNELOOP_HOME
  const { pairs, source } = await loadPreferencePairs(uri, {
    field, baseDir: home, storeOptions: { url: process.env.TUNELOOP_DATABASE_URL || undefined, home },
    // store://<dataset>@<version>/<file>: a dataset version of the model store
    fetchStoreFile: storeFileFetcher(storeTarget || process.env.TUNELOOP_MODEL_STORE_ADDR || undefined),
  });
  return { pairs, label: source.kind === 'file' ? path.basename(source.path) : uri };
}

/** Encodes every pair; an empty response, chosen == rejected or an over-long pair names its line. */
export function checkPairs(tok: Tokenizer, pairs: SourcedPreference[], label: string, field: string, maxLength: number): void {
  if (pairs.length === 0) bad(field, `${label}: holds no preference pairs`);
  try {
    encodePairs(tok, pairs as PreferenceExample[], { maxLength, field: 'pairs' });
  } catch (e) {
    if (!(e instanceof ObjectiveInputError)) throw e;
    const m = /^pairs\[(\d+)\](\.(\w+))?$/.exec(e.field);
    if (!m) bad(field, `${label}: ${e.message}`);
    const p = pairs[Number(m[1])];
    const where = p.line !== undefined ? `line ${p.line}` : `pair ${Number(m[1]) + 1}`;
    bad(field, `${label}: ${where}${m[3] ? `: ${m[3]}` : ''}: ${e.message.slice(e.field.length + 2)}`);
  }
}

function methodOf(spec: JobSpec, hfConfig: Record<string, unknown>): { method: 'lora' | 'full'; loraConfig: Record<string, unknown> } {
  const m = spec.method;
  if (m && m.$case !== 'lora' && m.$case !== 'full') bad('spec.method', `a reward model trains with lora or full, got ${m.$case}`);
  if (m?.$case === 'full' || (!m && REWARD_DEFAULTS.method === 'full')) return { method: 'full', loraConfig: {} };
  const l = m?.$case === 'lora' ? m.value : undefined;
  const r = int('spec.lora.r', l?.r || REWARD_DEFAULTS.loraRank, 1, LIMITS.rank);
  const raw: Record<string, unknown> = { r, lora_alpha: l?.alpha || 2 * r, target_modules: l?.targetModules.length ? l.targetModules : 'all-linear' };
  if (l?.dropout) raw.lora_dropout = range('spec.lora.dropout', l.dropout, 0, 0.9);
  if (l?.useRslora) raw.use_rslora = true;
  const lora = getPeftMethod('lora');
  try {
    const cfg = lora.parseConfig(raw);
    lora.plan(llamaShapes(shapeConfigFromJson(hfConfig)), cfg);
    return { method: 'lora', loraConfig: cfg as Record<string, unknown> };
  } catch (e) {
    throw new InvalidArgumentError('spec.lora', (e as Error).message);
  }
}

const NO_OPTIONS: RewardTrainingOptions = { evalFraction: 0, evalEvery: 0, checkpointEvery: 0, centerRewardsCoefficient: undefined, evalDataset: undefined };

/** Checks a StartRewardTrainingRequest completely; returns the job spec. */
export async function validateRewardRequest(home: string, req: StartRewardTrainingRequest, storeTarget: string): Promise<RewardJobSpec> {
  const js = req.spec;
  if (!js) bad('spec', 'is required');
  if (js.objective && js.objective.$case !== 'reward') bad('spec.objective', `the reward-model service trains the reward objective, got ${js.objective.$case}`);
  const margin = range('spec.reward.margin', js.objective?.$case === 'reward' ? js.objective.value.margin : 0, 0, LIMITS.margin);
  const o = req.options ?? NO_OPTIONS;
  const center = range('options.center_rewards_coefficient', o.centerRewardsCoefficient ?? REWARD_DEFAULTS.center, 0, LIMITS.center);
  const evalFraction = o.evalFraction === 0 ? 0.1 : range('options.eval_fraction', o.evalFraction, 0, 0.9);
  const evalEvery = int('options.eval_every', o.evalEvery, 0, LIMITS.steps);
  const checkpointEvery = int('options.checkpoint_every', o.checkpointEvery, 0, LIMITS.steps) || 50;
  const t = js.training;
  const batchSize = int('spec.training.batch_size', t?.batchSize || REWARD_DEFAULTS.batchSize, 1, LIMITS.batchSize);
  const weightDecay = range('spec.training.weight_decay', t?.weightDecay ?? 0, 0, 1);
  const epochs = t?.epochs ? int('spec.training.epochs', t.epochs, 1, 10_000) : 0; // 0: the recipe's step count
  const maxSteps = int('spec.training.max_steps', Number(t?.maxSteps ?? 0), 0, LIMITS.steps);
  if (t?.lrScheduler && t.lrScheduler !== 'cosine') bad('spec.training.lr_scheduler', `reward-model jobs use warmup then cosine, got "${t.lrScheduler}"`);
  if ((t?.gradientAccumulationSteps ?? 0) > 1) bad('spec.training.gradient_accumulation_steps', `is not supported by reward-model jobs (use a larger batch_size), got ${t?.gradientAccumulationSteps}`);
  const maxGradNorm = t?.maxGradNorm ? range('spec.training.max_grad_norm', t.maxGradNorm, 0, 1e6, true) : 1;
  if (js.initAdapter?.name) bad('spec.init_adapter', 'continuing from an adapter is not supported by reward-model jobs');

  const { dir: baseDir, store: baseStore } = await resolveBase(home, js.baseModel?.name ?? '', js.baseModel?.version ?? '', storeTarget).catch((e: unknown) => {
    if (e instanceof NotFoundError) bad('spec.base_model', e.message.replace(/^base_model: /, ''));
    throw e;
  });
  const base = await readBase(baseDir).catch((e: unknown) => {
    if (e instanceof NotFoundError) bad('spec.base_model', e.message.replace(/^base_model: /, ''));
    throw e;
  });
  const context = base.config.maxPositionEmbeddings;
  const maxLength = int('spec.training.max_seq_length', t?.maxSeqLength ?? 0, 0, context) || context;
  const { method, loraConfig } = methodOf(js, base.hfConfig);
  const lr = t?.learningRate ? range('spec.training.learning_rate', t.learningRate, 0, LIMITS.lr, true) : method === 'full' ? REWARD_DEFAULTS.lr : REWARD_DEFAULTS.loraLr;

  const datasetUri = js.dataset?.uri ?? '';
  const data = await readPairs(home, datasetUri, 'spec.dataset.uri', storeTarget);
  checkPairs(base.tokenizer, data.pairs, data.label, 'spec.dataset', maxLength);
  const evalUri = o.evalDataset?.uri ?? '';
  let trainCount = data.pairs.length;
  if (evalUri) {
    const ev = await readPairs(home, evalUri, 'options.eval_dataset.uri', storeTarget);
    checkPairs(base.tokenizer, ev.pairs, ev.label, 'options.eval_dataset', maxLength);
  } else {
    trainCount -= evalCount(data.pairs.length, evalFraction);
    if (trainCount < 1) bad('options.eval_fraction', `leaves no training pair out of ${data.pairs.length}`);
  }
  const totalSteps = maxSteps || (epochs ? epochs * Math.ceil(trainCount / batchSize) : REWARD_DEFAULTS.steps);
  const warmupSteps = t?.warmupSteps ? int('spec.training.warmup_steps', t.warmupSteps, 0, totalSteps) : null;
  const baseName = baseStore?.name ?? path.basename(js.baseModel?.name ?? 'base').replace(/@.*$/, '');
  const outputName = js.outputName || `${baseName}-rm`.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  if (!NAME_RE.test(outputName)) bad('spec.output_name', `must match ${NAME_RE}, got ${JSON.stringify(outputName)}`);
  return {
    baseRef: js.baseModel?.version ? `${js.baseModel.name}@${js.baseModel.version}` : (js.baseModel?.name ?? ''),
    baseDir, baseStore, storeTarget, outputName, datasetUri, evalUri, method, loraConfig,
    training: { lr, warmupSteps, maxGradNorm, batchSize, weightDecay, seed: t?.seed ?? 0, maxLength },
    totalSteps, margin, center, evalFraction: evalUri ? 0 : evalFraction, evalEvery, checkpointEvery,
  };
}

/** Held-out pairs of a seeded split of `n` (none below 2 pairs). */
export function evalCount(n: number, fraction: number): number {
  return n < 2 || fraction <= 0 ? 0 : Math.max(1, Math.round(n * fraction));
}
