// The SFT job spec: a StartTrainingRequest (JobSpec + SftOptions) checked and normalised into plain JSON that
// travels on jobs.train.sft and is stored in the jobs KV. Every problem is an InvalidArgumentError naming the field.
import type { JobSpec, SftOptions } from '@tuneloop/proto';
import { getPeftMethod, llamaShapes, shapeConfigFromJson } from '@tuneloop/peft';
import { InvalidArgumentError } from '@tuneloop/service-kit';
import type { StoreDataset } from './sources.ts';
import { SCHEDULERS, type SchedulerName } from './train/schedule.ts';
import type { Overlong } from './train/sft-data.ts';

export interface SftTraining {
  lr: number;
  epochs: number;
  maxSteps: number; // 0: run all epochs
  batchSize: number;
  gradAccum: number;
  warmupSteps: number;
  scheduler: SchedulerName;
  weightDecay: number;
  maxGradNorm: number;
  maxSeqLength: number; // 0: the model's context
  seed: number;
}

/** A model-store ref with its version (pinned: never '' where a resolved spec holds it). */
export interface StoreRef {
  name: string;
  version: string;
}

/** What a worker needs to run the job (plain JSON). */
export interface SftJobSpec {
  baseRef: string; // as the user named it
  baseDir: string; // resolved model folder (a store base: StartTraining's cache copy; the worker pulls its own)
  /** the base's pinned model-store version when it is not a local folder */
  baseStored?: StoreRef;
  /** spec.init_adapter: the PEFT adapter training continues from, as requested and (from the store) pinned */
  initAdapter?: { ref: StoreRef; stored?: StoreRef };
  outputName: string;
  datasetPath: string; // a store:// dataset: StartTraining's cache copy
  /** a store:// dataset, pinned (the worker reads its cached copy, or fetches it again) */
  datasetStore?: StoreDataset;
  /** the model store StartTraining used (a worker thread prefers TUNELOOP_MODEL_STORE_ADDR) */
  storeTarget?: string;
  method: string; // with an init adapter: the adapter's method
  methodConfig: Record<string, unknown>; // parsed, PEFT field names (with an init adapter: the adapter's config)
  training: SftTraining;
  evalFraction: number;
  evalEvery: number;
  checkpointEvery: number;
  overlong: Overlong;
}

export const DEFAULTS = {
  lr: 2e-4,
  epochs: 1,
  batchSize: 8,
  gradAccum: 1,
  scheduler: 'cosine' as SchedulerName,
  weightDecay: 0,
  maxGradNorm: 1,
  evalFraction: 0.1,
  checkpointEvery: 50,
  overlong: 'reject' as Overlong,
};

const ONEOF_NAMES: Record<string, string> = { lora: 'lora', qlora: 'qlora', vera: 'vera', dora: 'dora', adalora: 'adalora', full: 'full', partial: 'partial' };

function bad(field: string, problem: string): never {
  throw new InvalidArgumentError(field, problem);
}

function int(field: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got ${v}`);
  return v;
}

/** PEFT-named fields from the JobSpec method oneof (proto3 zero values mean "not set"). */
function fieldsFromOneof(spec: JobSpec): Record<string, unknown> {
  const m = spec.method;
  if (!m) return {};
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined && v !== 0 && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  };
  const lora = (l?: { r: number; alpha: number; dropout: number; targetModules: string[]; useRslora: boolean }) => {
    if (!l) return;
    set('r', l.r);
    set('lora_alpha', l.alpha);
    set('lora_dropout', l.dropout);
    set('target_modules', l.targetModules);
    set('use_rslora', l.useRslora);
  };
  switch (m.$case) {
    case 'lora':
      lora(m.value);
      break;
    case 'dora':
      lora(m.value.lora);
      break;
    case 'qlora':
      lora(m.value.lora);
      set('block_size', m.value.blockSize);
      break;
    case 'vera':
      set('r', m.value.r);
      set('projection_prng_key', m.value.projectionSeed);
      set('d_initial', m.value.dInitial);
      set('target_modules', m.value.targetModules);
      break;
    case 'adalora':
      set('init_r', m.value.initR);
      set('target_r', m.value.targetR);
      set('lora_alpha', m.value.alpha);
      set('tinit', m.value.tinit);
      set('tfinal', m.value.tfinal);
      set('deltaT', m.value.deltaT);
      set('beta1', m.value.beta1);
      set('beta2', m.value.beta2);
      set('orth_reg_weight', m.value.orthRegWeight);
      set('target_modules', m.value.targetModules);
      break;
    case 'partial':
      set('modules', m.value.trainableModules);
      set('top_k_blocks', m.value.topKLayers);
      set('head', m.value.trainHead);
      break;
    default:
      break;
  }
  return out;
}

/** Method name and raw PEFT config from the request; unknown names and bad fields are INVALID_ARGUMENT. */
export function methodOf(spec: JobSpec, opts: SftOptions): { name: string; raw: Record<string, unknown> } {
  const fromOneof = spec.method ? ONEOF_NAMES[spec.method.$case] : undefined;
  const name = opts.method || fromOneof;
  if (!name) bad('options.method', 'no PEFT method given (set JobSpec.method or options.method, e.g. "lora")');
  if (fromOneof && opts.method && opts.method !== fromOneof) bad('options.method', `"${opts.method}" disagrees with JobSpec.method (${fromOneof})`);
  let method;
  try {
    method = getPeftMethod(name);
  } catch (e) {
    bad('method', (e as Error).message.replace(/^method: /, ''));
  }
  let raw: Record<string, unknown> = {};
  if (opts.rank !== 0 || opts.targetModules.length > 0) {
    if (opts.rank < 0) bad('rank', `must be an integer >= 1, got ${opts.rank}`);
    try {
      raw = { ...method.cliConfig({ rank: opts.rank || undefined, targets: opts.targetModules.length ? opts.targetModules : undefined }) } as Record<string, unknown>;
    } catch (e) {
      throw new InvalidArgumentError('method config', (e as Error).message);
    }
  }
  raw = { ...raw, ...fieldsFromOneof(spec) };
  if (opts.methodConfigJson) {
    let extra: unknown;
    try {
      extra = JSON.parse(opts.methodConfigJson);
    } catch (e) {
      bad('options.method_config_json', `not valid JSON (${(e as Error).message})`);
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) bad('options.method_config_json', 'must be a JSON object');
    raw = { ...raw, ...(extra as Record<string, unknown>) };
  }
  return { name: method.name, raw };
}

/**
 * With spec.init_adapter the adapter's own method and config train on: a method named in the request (options.method
 * or the JobSpec oneof) must be the adapter's, and no method config may be given.
 */
export function checkInitMethod(spec: JobSpec, opts: SftOptions, adapterMethod: string): void {
  const fromOneof = spec.method ? ONEOF_NAMES[spec.method.$case] : undefined;
  if (opts.method && opts.method !== adapterMethod) bad('options.method', `"${opts.method}" disagrees with the init adapter's method (${adapterMethod})`);
  if (fromOneof && fromOneof !== adapterMethod) bad('spec.method', `${fromOneof} disagrees with the init adapter's method (${adapterMethod})`);
  const unset = "must be unset with spec.init_adapter (training continues with the adapter's own config)";
  if (opts.rank !== 0) bad('options.rank', unset);
  if (opts.targetModules.length > 0) bad('options.target_modules', unset);
  if (opts.methodConfigJson.trim() !== '' && opts.methodConfigJson.replace(/\s/g, '') !== '{}') bad('options.method_config_json', unset);
  if (Object.keys(fieldsFromOneof(spec)).length > 0) bad('spec.method', `its fields ${unset}`);
}

/** Parses the method config and checks it against the model's shapes (rank >= 1, targets exist, ...). */
export function checkMethodConfig(name: string, raw: Record<string, unknown>, hfConfig: Record<string, unknown>, totalSteps: number): Record<string, unknown> {
  const method = getPeftMethod(name);
  const withSteps = name === 'adalora' && raw.total_step === undefined ? { ...raw, total_step: totalSteps } : raw;
  try {
    const cfg = method.parseConfig(withSteps);
    method.plan(llamaShapes(shapeConfigFromJson(hfConfig)), cfg);
    return cfg as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgumentError(`${name} config`, (e as Error).message);
  }
}

/** Training hyperparameters with defaults, each checked and named. */
export function trainingOf(spec: JobSpec, contextLength: number): SftTraining {
  const t = spec.training;
  const lr = t?.learningRate || DEFAULTS.lr;
  if (!(lr > 0 && lr < 10)) bad('training.learning_rate', `must be in (0, 10), got ${lr}`);
  const scheduler = (t?.lrScheduler || DEFAULTS.scheduler) as SchedulerName;
  if (!SCHEDULERS.includes(scheduler)) bad('training.lr_scheduler', `must be one of ${SCHEDULERS.join(', ')}, got "${scheduler}"`);
  const weightDecay = t?.weightDecay ?? DEFAULTS.weightDecay;
  if (!(weightDecay >= 0)) bad('training.weight_decay', `must be >= 0, got ${weightDecay}`);
  const maxGradNorm = t?.maxGradNorm ?? 0;
  if (!(maxGradNorm >= 0)) bad('training.max_grad_norm', `must be >= 0 (0: no clipping), got ${maxGradNorm}`);
  const maxSeqLength = int('training.max_seq_length', t?.maxSeqLength ?? 0, 0);
  if (maxSeqLength > contextLength) bad('training.max_seq_length', `must be <= the model's context (max_position_embeddings ${contextLength}), got ${maxSeqLength}`);
  return {
    lr,
    epochs: int('training.epochs', t?.epochs || DEFAULTS.epochs, 1, 10_000),
    maxSteps: int('training.max_steps', t?.maxSteps ?? 0, 0),
    batchSize: int('training.batch_size', t?.batchSize || DEFAULTS.batchSize, 1, 4096),
    gradAccum: int('training.gradient_accumulation_steps', t?.gradientAccumulationSteps || DEFAULTS.gradAccum, 1, 4096),
    warmupSteps: int('training.warmup_steps', t?.warmupSteps ?? 0, 0),
    scheduler,
    weightDecay,
    maxGradNorm,
    maxSeqLength,
    seed: t?.seed ?? 0,
  };
}

/** Eval split, eval / checkpoint cadence and the over-long policy. */
export function optionsOf(o: SftOptions): Pick<SftJobSpec, 'evalFraction' | 'evalEvery' | 'checkpointEvery' | 'overlong'> {
  const evalEvery = int('options.eval_every', o.evalEvery, 0);
  const evalFraction = o.evalFraction || DEFAULTS.evalFraction;
  if (!(evalFraction >= 0 && evalFraction < 1)) bad('options.eval_fraction', `must be in [0, 1), got ${o.evalFraction}`);
  const overlong = (o.overlong || DEFAULTS.overlong) as Overlong;
  if (overlong !== 'reject' && overlong !== 'truncate') bad('options.overlong', `must be "reject" or "truncate", got "${o.overlong}"`);
  return { evalFraction, evalEvery, checkpointEvery: int('options.checkpoint_every', o.checkpointEvery, 0) || DEFAULTS.checkpointEvery, overlong };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function outputNameOf(spec: JobSpec, fallback: string): string {
  const name = spec.outputName || fallback;
  if (!NAME_RE.test(name)) bad('output_name', `must match ${NAME_RE}, got ${JSON.stringify(name)}`);
  return name;
}
