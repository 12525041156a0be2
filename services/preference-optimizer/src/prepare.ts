// Everything an optimization job checks before it is queued, and what its thread loads again: the base model
// (config + tokenizer), the init adapter, the PEFT method against the model's shapes, the data (pairs, KTO
// examples or prompts, tokenized, with line numbers in errors), the objective's config, the verifier, the reward
// model. StartOptimization calls `validateRequest`; the job thread calls `loadData` with the same rules.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createRng } from '@tuneloop/engine';
import { readJsonFile } from '@tuneloop/files';
import { modelConfigFromHf, tokenizerFromFiles, type ModelConfig, type Tokenizer } from '@tuneloop/model';
import { encodePairs, encodeUnpaired, resolvePreferenceConfig, type PreferenceTrainConfig } from '@tuneloop/objectives';
import { detectMethod, getPeftMethod, llamaShapes, shapeConfigFromJson } from '@tuneloop/peft';
import type { StartOptimizationRequest } from '@tuneloop/proto';
import { encodePrompts, resolveGrpoConfig, type RlPrompt } from '@tuneloop/rl';
import { InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';
import { storeFileFetcher } from '@tuneloop/jobs';
import { loadKtoExamples, loadPreferencePairs, type SourcedPreference } from '@tuneloop/store';
import { createVerifier } from '@tuneloop/verifiers';
import type { KtoRecord } from '@tuneloop/datasets';
import { resolveSpec, type OptimizeJobSpec } from './job-spec.ts';
import { resolveAdapter, resolveModel } from '@tuneloop/jobs';

export const MAX_PROMPTS_BYTES = 256 * 1024 * 1024;
/** The reward model's head file (Hugging Face LlamaForSequenceClassification's score.weight), as `tuneloop reward train` writes it. */
export const REWARD_HEAD_FILE = 'score.safetensors';

export interface BaseInfo {
  hfConfig: Record<string, unknown>;
  config: ModelConfig;
  tokenizer: Tokenizer;
}

export async function readBase(dir: string, field: string): Promise<BaseInfo> {
  const hfConfig = await readJsonFile(dir, 'config.json');
  if (!hfConfig) throw new NotFoundError(`${field}: no model folder at ${dir} (config.json missing)`);
  let config: ModelConfig;
  try {
    config = modelConfigFromHf(hfConfig);
  } catch (e) {
    throw new InvalidArgumentError(field, `${dir}/config.json: ${(e as Error).message}`);
  }
  const tokenizerJson = await readJsonFile(dir, 'tokenizer.json');
  if (!tokenizerJson) throw new InvalidArgumentError(field, `${dir} has no tokenizer.json (the job needs the tokenizer)`);
  const tokenizerConfig = await readJsonFile(dir, 'tokenizer_config.json');
  return { hfConfig, config, tokenizer: tokenizerFromFiles({ tokenizerJson, tokenizerConfig }) };
}

/** Rethrows a library input error (code 'INVALID_ARGUMENT', a `field`) as INVALID_ARGUMENT with `prefix` + field. */
export function asInvalid<T>(prefix: string, fn: () => T, rename?: (field: string) => string | undefined): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: unknown; field?: string; message?: string };
    if (err?.code === 'INVALID_ARGUMENT' && typeof err.field === 'string') {
      const problem = String(err.message).startsWith(`${err.field}: `) ? String(err.message).slice(err.field.length + 2) : String(err.message);
      const named = rename?.(err.field);
      throw new InvalidArgumentError(named ?? (prefix ? `${prefix}.${err.field}` : err.field), problem);
    }
    throw e;
  }
}

/** `pairs[3].chosen` -> `spec.dataset.uri: prefs.jsonl: line 4` (the record's own line). */
function lineOf(uriField: string, file: string) {
  return (records: { line: number }[]) => (field: string): string | undefined => {
    const m = /^[a-zA-Z]+\[(\d+)\](.*)$/.exec(field);
    if (!m) return undefined;
    const rec = records[Number(m[1])];
    return rec ? `${uriField}: ${file}: line ${rec.line}${m[2] ? ` (${m[2].replace(/^\./, '')})` : ''}` : undefined;
  };
}

/** Prompt rows {prompt, answer?} (also `reference` / `completion` as the answer); a bad line names its number. */
export function parsePromptsJsonl(text: string, source: string, field: string): (RlPrompt & { line: number })[] {
  const out: (RlPrompt & { line: number })[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const at = `${field}: ${source}: line ${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new InvalidArgumentError(at, `not valid JSON (${(e as Error).message})`);
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new InvalidArgumentError(at, 'must be a JSON object {"prompt", "answer"?}');
    const r = o as Record<string, unknown>;
    if (typeof r.prompt !== 'string' || r.prompt === '') throw new InvalidArgumentError(at, '"prompt": must be a non-empty string');
    const answer = r.answer ?? r.reference ?? r.completion;
    if (answer !== undefined && answer !== null && typeof answer !== 'string' && typeof answer !== 'number') throw new InvalidArgumentError(at, '"answer": must be a string or a number');
    out.push({ line: i + 1, prompt: r.prompt, reference: answer === undefined || answer === null ? undefined : String(answer) });
  });
  if (out.length === 0) throw new InvalidArgumentError(field, `${source} has no prompts (empty file)`);
  return out;
}

export async function readPrompts(home: string, uri: string, field: string): Promise<(RlPrompt & { line: number })[]> {
  if (/^[a-z]+:\/\//.test(uri) && !uri.startsWith('file://')) throw new InvalidArgumentError(field, `prompts are read from files only, got ${JSON.stringify(uri)}`);
  const p = uri.startsWith('file://') ? new URL(uri).pathname : path.isAbsolute(uri) ? uri : path.resolve(home, uri);
  const size = await stat(p).then((s) => s.size, () => -1);
  if (size < 0) throw new InvalidArgumentError(field, `no such file: ${p}`);
  if (size > MAX_PROMPTS_BYTES) throw new InvalidArgumentError(field, `${p} is ${size} bytes, above the limit of ${MAX_PROMPTS_BYTES}`);
  return parsePromptsJsonl(await readFile(p, 'utf8'), path.basename(p), field);
}

/** The preference objective's config for @tuneloop/objectives (validated there). */
export function preferenceConfigOf(spec: OptimizeJobSpec, steps: number): PreferenceTrainConfig {
  const p = spec.preference!;
  const t = spec.training;
  return {
    method: p.method, lossType: p.method === 'dpo' ? p.lossType : undefined, beta: p.beta, gamma: p.gamma, labelSmoothing: p.labelSmoothing, cpoAlpha: p.cpoAlpha,
    desirableWeight: p.desirableWeight, undesirableWeight: p.undesirableWeight, steps, batchSize: t.batchSize, lr: t.lr, seed: t.seed,
    maxLength: t.maxLength > 0 ? t.maxLength : undefined, weightDecay: t.weightDecay,
  };
}

const PREF_FIELDS: Record<string, string> = {
  beta: 'beta', gamma: 'gamma', labelSmoothing: 'label_smoothing', cpoAlpha: 'cpo_alpha', desirableWeight: 'desirable_weight', undesirableWeight: 'undesirable_weight', lossType: 'loss_type',
};

/** Field of the request behind a PreferenceTrainConfig field. */
function prefField(spec: OptimizeJobSpec) {
  const o = spec.objective;
  return (f: string): string | undefined => {
    if (f === 'batchSize') return 'training.batch_size';
    if (f === 'lr') return 'training.learning_rate';
    if (f === 'steps') return 'training.max_steps';
    if (f === 'maxLength') return 'training.max_seq_length';
    if (f === 'beta' && o === 'ipo') return 'spec.ipo.tau';
    if (f === 'beta' && o === 'orpo') return 'spec.orpo.lambda';
    return PREF_FIELDS[f] ? `spec.${o}.${PREF_FIELDS[f]}` : undefined;
  };
}

export interface PreferenceData {
  kind: 'pairs' | 'unpaired';
  pairs: SourcedPreference[];
  unpaired: KtoRecord[];
}

/** Reads the preference data (file or labeling source) and checks it against the tokenizer and the length limit. */
export async function loadPreferenceData(
  home: string,
  spec: OptimizeJobSpec,
  base: BaseInfo,
  steps: number,
  source: { uri: string; format: OptimizeJobSpec['dataset']['format']; field: string } = { ...spec.dataset, field: 'spec.dataset.uri' },
): Promise<PreferenceData> {
  // the labeling database: TUNELOOP_DATABASE_URL, else the SQLite file under this TUNELOOP_HOME
  // store://<dataset>@<version>/<file>: a dataset version of the model store (spec.storeTarget, set by validateRequest)
  const opts = { field: source.field, baseDir: home, storeOptions: { home }, fetchStoreFile: storeFileFetcher(spec.storeTarget || undefined) };
  const cfg = preferenceConfigOf(spec, steps);
  asInvalid('', () => resolvePreferenceConfig(cfg), prefField(spec));
  const maxLength = spec.training.maxLength > 0 ? Math.min(spec.training.maxLength, base.config.maxPositionEmbeddings) : base.config.maxPositionEmbeddings;
  const file = path.basename(source.uri);
  // kto on a store:// dataset: loadKtoExamples tells {prompt, completion, label} from pairs itself
  let unpairedFile = source.format === 'unpaired' || (spec.objective === 'kto' && source.uri.startsWith('store:'));
  if (spec.objective === 'kto' && source.format === 'auto' && !source.uri.startsWith('labeling:') && !source.uri.startsWith('store:')) {
    const p = source.uri.startsWith('file://') ? new URL(source.uri).pathname : path.resolve(home, source.uri);
    const first = (await readFile(p, 'utf8').catch(() => '')).split('\n').find((l) => l.trim() !== '') ?? '';
    unpairedFile = /"label"\s*:/.test(first);
  }
  const at = lineOf(source.field, file);
  if (unpairedFile) {
    const { examples } = await loadKtoExamples(source.uri, opts);
    asInvalid('', () => encodeUnpaired(base.tokenizer, examples, { maxLength }), at(examples));
    return { kind: 'unpaired', pairs: [], unpaired: examples };
  }
  const { pairs } = await loadPreferencePairs(source.uri, opts);
  asInvalid('', () => encodePairs(base.tokenizer, pairs, { maxLength }), at(pairs));
  return { kind: 'pairs', pairs, unpaired: [] };
}

/** The held-out preference data of `options.eval_dataset`, if the job has one. */
export function loadPreferenceEval(home: string, spec: OptimizeJobSpec, base: BaseInfo): Promise<PreferenceData> | undefined {
  return spec.evalDataset ? loadPreferenceData(home, spec, base, 1, { uri: spec.evalDataset.uri, format: 'auto', field: 'options.eval_dataset.uri' }) : undefined;
}

/** Seeded train / eval split: the last round(fraction * n) of a shuffle are eval (at least 1 when n >= 4). */
export function splitEval<T>(rows: T[], fraction: number, seed: number): { train: T[]; eval: T[] } {
  if (fraction <= 0 || rows.length < 4) return { train: rows, eval: [] };
  const order = createRng(seed + 17).shuffle(rows.map((_, i) => i));
  const nEval = Math.min(rows.length - 2, Math.max(1, Math.round(fraction * rows.length)));
  return { train: order.slice(0, rows.length - nEval).map((i) => rows[i]), eval: order.slice(rows.length - nEval).map((i) => rows[i]) };
}

/** Optimizer steps of a preference job: max_steps, else epochs over the training split. */
export function preferenceSteps(spec: OptimizeJobSpec, trainRows: number): number {
  const t = spec.training;
  return t.maxSteps > 0 ? t.maxSteps : Math.max(1, t.epochs * Math.ceil(trainRows / t.batchSize));
}

/** The RL objective's checks (config ranges, verifier, prompts vs context). */
export function checkRl(spec: OptimizeJobSpec, base: BaseInfo, prompts: RlPrompt[] & { line?: number }[]): void {
  const t = spec.training;
  const file = path.basename(spec.dataset.uri);
  if (spec.verifier) {
    const field = spec.objective === 'grpo' ? 'spec.grpo' : 'spec.best_of_n';
    asInvalid(field, () => createVerifier(spec.verifier as { type: string }, { score: async () => [] }));
  }
  let maxNew = 8;
  if (spec.grpo) {
    const c = asInvalid('spec.grpo', () => resolveGrpoConfig({ ...spec.grpo, steps: t.maxSteps, promptsPerStep: t.batchSize, lr: t.lr, seed: t.seed }), (f) =>
      f === 'promptsPerStep' ? 'training.batch_size' : f === 'lr' ? 'training.learning_rate' : f === 'steps' ? 'training.max_steps' : f === 'seed' ? 'training.seed' : undefined,
    );
    maxNew = c.maxNewTokens;
  }
  if (spec.ppo?.maxNewTokens) maxNew = spec.ppo.maxNewTokens;
  if (spec.bestOfN?.maxNewTokens) maxNew = spec.bestOfN.maxNewTokens;
  asInvalid('', () => encodePrompts(base.tokenizer, base.config, prompts, maxNew), (f) => {
    const m = /^prompts\[(\d+)\](.*)$/.exec(f);
    const rec = m ? (prompts as { line?: number }[])[Number(m[1])] : undefined;
    return rec?.line ? `spec.dataset.uri: ${file}: line ${rec.line}` : undefined;
  });
}

/** The PEFT method config, parsed and checked against the model's shapes. */
export function checkMethod(name: string, raw: Record<string, unknown>, hfConfig: Record<string, unknown>, field = 'options.method'): Record<string, unknown> {
  let method;
  try {
    method = getPeftMethod(name);
  } catch (e) {
    throw new InvalidArgumentError(field, (e as Error).message.replace(/^method: /, ''));
  }
  try {
    const cfg = method.parseConfig(raw);
    method.plan(llamaShapes(shapeConfigFromJson(hfConfig)), cfg);
    return cfg as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgumentError(`${name} config`, (e as Error).message);
  }
}

/** Checks a StartOptimizationRequest completely and returns the job spec (plain JSON) and its step count. */
export async function validateRequest(
  home: string,
  req: StartOptimizationRequest,
  storeTarget: () => string | undefined,
  targets: { rollout?: () => string | undefined; trainer?: () => string | undefined } = {},
): Promise<{ resolved: OptimizeJobSpec; totalSteps: number }> {
  const spec = resolveSpec(req.spec, req.options);
  const baseDir = await resolveModel(home, spec.base, storeTarget, 'spec.base_model');
  if (spec.rollout === 'service') {
    if (!baseDir.stored) throw new InvalidArgumentError('options.rollout', `"service": the rollout workers load the policy from the model store; ${spec.base.name} is a local folder (import it: tuneloop model import)`);
    spec.base = baseDir.stored; // pinned: every batch's adapter is linked to this version
    spec.rolloutTarget = targets.rollout?.();
  }
  if (spec.objective === 'best_of_n') {
    // the pipeline's rollout workers load an adapter from the model store only, on a base from the store
    if (spec.initAdapter && !baseDir.stored) throw new InvalidArgumentError('spec.init_adapter', `best-of-N samples through the rollout service, which loads adapters from the model store on a stored base; ${spec.base.name} is a local folder (import it: tuneloop model import)`);
    spec.sftMethodConfig = { ...spec.methodConfig };
    spec.rolloutTarget = targets.rollout?.();
    spec.trainerTarget = targets.trainer?.();
  }
  const base = await readBase(baseDir.dir, 'spec.base_model');
  if (spec.initAdapter) {
    const a = await resolveAdapter(home, spec.initAdapter, storeTarget, 'spec.init_adapter');
    if (spec.objective === 'best_of_n' && !a.stored) throw new InvalidArgumentError('spec.init_adapter', `best-of-N samples through the rollout service, which loads adapters from the model store; ${spec.initAdapter.name} is a local folder (a stored adapter: name@version, e.g. an earlier job's output)`);
    const cfg = await readJsonFile(a.dir, 'adapter_config.json');
    let name: string;
    try {
      name = detectMethod(cfg as Record<string, unknown>).name;
    } catch (e) {
      throw new InvalidArgumentError('spec.init_adapter', `${a.dir}/adapter_config.json: ${(e as Error).message}`);
    }
    if (req.options?.method && req.options.method !== name) throw new InvalidArgumentError('options.method', `"${req.options.method}" disagrees with the init adapter's method (${name})`);
    spec.method = name;
    spec.methodConfig = {};
  } else {
    spec.methodConfig = checkMethod(spec.method, spec.methodConfig, base.hfConfig);
  }
  if (spec.ppo) {
    await resolveRewardModel(home, spec.ppo.rewardModel, storeTarget);
  }
  if (spec.verifierRewardModel) {
    await resolveRewardModel(home, spec.verifierRewardModel, storeTarget, `spec.${spec.objective}.verifier.reward_model`);
  }
  if (spec.family === 'preference') {
    spec.storeTarget = storeTarget(); // store:// datasets are read through the model store
    const data = await loadPreferenceData(home, spec, base, 1);
    await loadPreferenceEval(home, spec, base);
    const n = data.kind === 'pairs' ? data.pairs.length : data.unpaired.length;
    const train = n - splitEval(Array.from({ length: n }, (_, i) => i), spec.evalFraction, spec.training.seed).eval.length;
    if (spec.objective === 'kto' && train < 2) throw new InvalidArgumentError('spec.dataset.uri', `kto needs at least 2 training examples, got ${train}`);
    return { resolved: { ...spec, storeTarget: storeTarget() } as OptimizeJobSpec, totalSteps: preferenceSteps(spec, train) };
  }
  const prompts = await readPrompts(home, spec.dataset.uri, 'spec.dataset.uri');
  checkRl(spec, base, prompts);
  if (spec.evalDataset) checkRl(spec, base, await readPrompts(home, spec.evalDataset.uri, 'options.eval_dataset.uri'));
  return { resolved: { ...spec, storeTarget: storeTarget() } as OptimizeJobSpec, totalSteps: spec.training.maxSteps };
}

/** The reward model folder (config.json + tokenizer.json + score.safetensors): local, a store model, or a store adapter folder. */
export async function resolveRewardModel(
  home: string,
  ref: { name: string; version: string },
  storeTarget: () => string | undefined,
  field = 'spec.ppo.reward_model',
): Promise<string> {
  let dir: string;
  try {
    dir = (await resolveModel(home, ref, storeTarget, field)).dir;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    dir = (await resolveAdapter(home, ref, storeTarget, field, REWARD_HEAD_FILE)).dir;
  }
  const ok = await stat(path.join(dir, REWARD_HEAD_FILE)).then(() => true, () => false);
  if (!ok) throw new InvalidArgumentError(field, `${dir} has no ${REWARD_HEAD_FILE} (not a reward model folder)`);
  return dir;
}
