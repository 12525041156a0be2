// One optimization job in a worker_thread (run by @tuneloop/jobs' thread entry): loads the policy (base model from
// a folder or the model store + the init adapter or a fresh PEFT method), runs the preference or RL training, and
// writes the adapter as a PEFT folder (adapter_config.json + adapter_model.safetensors + tuneloop_training.json)
// to TUNELOOP_HOME/adapters/<output_name>/<jobId>/, then posts 'done' (the worker's finish hook stores it).
import path from 'node:path';
import { initBackend } from '@tuneloop/engine';
import { loadModel, writeFolderAtomic } from '@tuneloop/files';
import type { JobThreadInput, JobThreadPost } from '@tuneloop/jobs';
import type { CausalLM } from '@tuneloop/model';
import { encodeAdapterFiles, saveAdapter, type PeftModel } from '@tuneloop/peft';
import type { OptimizeJobSpec } from './job-spec.ts';
import { resolveAdapter, resolveModel, startingPolicy, withStoreRetry } from '@tuneloop/jobs';
import { readBase } from './prepare.ts';
import { runPreferenceJob, type PolicyCtx } from './train/preference-run.ts';
import { runRlJob } from './train/rl-run.ts';
import { runBestOfNPipeline } from './train/best-of-n-pipeline.ts';

export function adapterDirOf(home: string, outputName: string, jobId: string): string {
  return path.join(home, 'adapters', outputName, jobId);
}

/** What the thread's 'done' message carries for the worker's finish hook. */
export interface OptimizeResult {
  [k: string]: unknown;
  adapterDir: string;
  baseDir: string;
  /** the base's name in the model store when it was pulled from there (the folder is then <name>@<version>) */
  baseName?: string;
  outputName: string;
  steps: number;
  finalLoss: number;
  /** best-of-N: the adapter the adapter trainer already stored (nothing to upload) and its SFT job */
  stored?: { name: string; version: string };
  sftJobId?: string;
}

/** The starting policy: `model` with the init adapter loaded (continues training), or a fresh method applied. */
async function applyPolicy(model: CausalLM, spec: OptimizeJobSpec, home: string, storeTarget: () => string | undefined): Promise<PeftModel> {
  const ref = spec.initAdapter;
  const initAdapterDir = ref ? (await withStoreRetry(() => resolveAdapter(home, ref, storeTarget, 'spec.init_adapter'))).dir : undefined;
  return startingPolicy(model, { initAdapterDir, method: spec.method, methodConfig: spec.methodConfig, seed: spec.training.seed });
}

export default async function runOptimizeJob(input: JobThreadInput<OptimizeJobSpec>, post: JobThreadPost): Promise<void> {
  const { spec, home, jobId } = input;
  await initBackend({ quiet: true });
  if (spec.objective === 'best_of_n') {
    // sampling on the rollout service, SFT on the adapter trainer (which stores the adapter)
    const r = await runBestOfNPipeline(input, post);
    const result: OptimizeResult = { adapterDir: '', baseDir: '', outputName: spec.outputName, steps: r.totalSteps, finalLoss: r.metrics.loss ?? NaN, stored: r.output, sftJobId: r.sftJobId };
    post({ type: 'done', outputDir: '', metrics: { ...r.metrics, steps: r.totalSteps }, result });
    return;
  }
  const storeTarget = () => process.env.TUNELOOP_MODEL_STORE_ADDR || spec.storeTarget;
  const resolved = await withStoreRetry(() => resolveModel(home, spec.base, storeTarget, 'spec.base_model'));
  const baseDir = resolved.dir;
  const base = await readBase(baseDir, 'spec.base_model');
  const { model, tokenizer } = await loadModel(baseDir);
  if (!tokenizer) throw new Error(`${baseDir}: has no tokenizer`);
  const pm = await applyPolicy(model, spec, home, storeTarget);
  let reference: { model: CausalLM; pm?: PeftModel } | undefined;
  try {
    const ctx: PolicyCtx = { model, tokenizer, pm, base };
    let outcome;
    if (spec.family === 'preference') outcome = await runPreferenceJob(input, post, ctx);
    else {
      // GRPO's reference is the policy with its adapter disabled, unless that is not the starting policy
      // (an init adapter, or full / partial fine-tuning): then a frozen copy of the starting policy
      if (spec.objective === 'grpo' && (spec.initAdapter || spec.method === 'full' || spec.method === 'partial')) {
        const loaded = await loadModel(baseDir);
        reference = { model: loaded.model, pm: spec.initAdapter ? await applyPolicy(loaded.model, spec, home, storeTarget) : undefined };
        reference.pm?.setTraining(false);
      }
      outcome = await runRlJob(input, post, ctx, reference?.model);
    }
    const adapterDir = adapterDirOf(home, spec.outputName, jobId);
    pm.setTraining(false);
    const baseRef = spec.base.version ? `${spec.base.name}@${spec.base.version}` : spec.base.name;
    const files = encodeAdapterFiles(saveAdapter(pm, { baseModel: baseRef }));
    await writeFolderAtomic(adapterDir, new Map<string, string | Uint8Array>([
      ...Object.entries(files),
      ['tuneloop_training.json', JSON.stringify({ jobId, objective: spec.objective, method: spec.method, totalSteps: outcome.totalSteps, metrics: outcome.metrics, losses: outcome.losses }, null, 2) + '\n'],
    ]), () => true);
    const metrics: Record<string, number> = { ...outcome.metrics, steps: outcome.totalSteps };
    const result: OptimizeResult = { adapterDir, baseDir, baseName: resolved.stored?.name, outputName: spec.outputName, steps: outcome.totalSteps, finalLoss: outcome.losses.at(-1)?.loss ?? NaN };
    post({ type: 'done', outputDir: adapterDir, metrics, result });
  } finally {
    reference?.pm?.unload();
    reference?.model.dispose();
    pm.unload();
    model.dispose();
  }
}
