// One SFT job, start to end: loads the base model (a folder, or pulled from the model store), applies the PEFT
// method or loads the init adapter to continue from, resumes from the job's checkpoint if there is one (it holds the
// trainable weights: those of a loaded adapter too), trains, writes checkpoints and finally the PEFT adapter folder,
// reporting through `post`. Runs in a worker_thread (train-thread.ts) so the service's event loop stays free.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { loadModel, writeFolderAtomic } from '@tuneloop/files';
import { resolveAdapter, resolveModel, startingPolicy, withStoreRetry } from '@tuneloop/jobs';
import { causalLmLoss, sequenceLogprobs, type CausalLM } from '@tuneloop/model';
import { encodeAdapterFiles, saveAdapter } from '@tuneloop/peft';
import { checkpointDir, readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import type { SftJobSpec } from './job-spec.ts';
import { prepareRows, readDataset, totalStepsOf } from './prepare.ts';
import { storeDatasetFile, type DatasetSource } from './sources.ts';
import { padRows, type SftRow } from './train/sft-data.ts';
import { SftLoop, type StepReport } from './train/sft-loop.ts';

export interface ThreadInput {
  jobId: string;
  home: string;
  spec: SftJobSpec;
}

export type ThreadMessage =
  | { type: 'ready'; totalSteps: number; resumedFrom: number; trainRows: number; evalRows: number; trainable: number; total: number; evalLoss?: number }
  | { type: 'step'; report: StepReport }
  | { type: 'checkpoint'; step: number }
  | { type: 'done'; adapterDir: string; finalLoss: number; evalLoss?: number; steps: number }
  | { type: 'error'; message: string; invalid: boolean };

export function adapterDirOf(home: string, outputName: string, jobId: string): string {
  return path.join(home, 'adapters', outputName, jobId);
}

/** Mean per-token loss over `rows` (no gradients), token-weighted across batches. */
function meanLoss(model: CausalLM, rows: SftRow[], batchSize: number, padId: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const b = padRows(rows.slice(i, i + batchSize), padId);
    const [s, c] = tf.tidy(() => {
      const { logprobs, mask } = sequenceLogprobs(model, { inputIds: b.inputIds, attentionMask: b.attentionMask, completionMask: b.lossMask });
      return [tf.neg(tf.sum(logprobs)).dataSync()[0], tf.sum(mask).dataSync()[0]];
    });
    sum += s;
    count += c;
  }
  return count > 0 ? sum / count : NaN;
}

/** The job's inputs on this worker: store versions pulled into TUNELOOP_HOME/cache (retried while the store is down). */
async function inputsOf(spec: SftJobSpec, home: string): Promise<{ baseDir: string; dataset: DatasetSource; initAdapterDir?: string }> {
  const storeTarget = () => process.env.TUNELOOP_MODEL_STORE_ADDR || spec.storeTarget;
  const stored = spec.baseStored;
  const baseDir = stored ? (await withStoreRetry(() => resolveModel(home, stored, storeTarget, 'spec.base_model'))).dir : spec.baseDir;
  const ds = spec.datasetStore;
  const dataset = ds ? await withStoreRetry(() => storeDatasetFile(home, ds, storeTarget)) : { path: spec.datasetPath, label: path.basename(spec.datasetPath) };
  const init = spec.initAdapter;
  const initAdapterDir = init ? (await withStoreRetry(() => resolveAdapter(home, init.stored ?? init.ref, storeTarget, 'spec.init_adapter'))).dir : undefined;
  return { baseDir, dataset, initAdapterDir };
}

export async function trainJob(input: ThreadInput, post: (m: ThreadMessage) => void): Promise<void> {
  const { spec, jobId, home } = input;
  await initBackend({ quiet: true });
  const { baseDir, dataset, initAdapterDir } = await inputsOf(spec, home);
  const { model, tokenizer: tok, config } = await loadModel(baseDir);
  if (!tok) throw new Error(`${baseDir}: has no tokenizer`);
  const tokenizer = tok;
  const rows = prepareRows(await readDataset(dataset.path), dataset.label, tokenizer, config, spec);
  const totalSteps = totalStepsOf(spec, rows.train.length);
  const pm = await startingPolicy(model, { initAdapterDir, method: spec.method, methodConfig: spec.methodConfig, seed: spec.training.seed }).catch((e: unknown) => {
    model.dispose();
    throw e;
  });
  try {
    await run();
  } finally {
    pm.unload();
    model.dispose();
  }

  async function run(): Promise<void> {
    const padId = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
    const t = spec.training;
    const evalLoss = (r: SftRow[]) => {
      pm.setTraining(false);
      try {
        return meanLoss(model, r, t.batchSize, padId);
      } finally {
        pm.setTraining(true);
      }
    };
    const ckDir = checkpointDir(home, jobId);
    const losses: { step: number; loss: number }[] = [];
    const loop = new SftLoop<SftRow>(
      { totalSteps, batchSize: t.batchSize, gradAccum: t.gradAccum, lr: t.lr, warmupSteps: t.warmupSteps, scheduler: t.scheduler,
        weightDecay: t.weightDecay, maxGradNorm: t.maxGradNorm, evalEvery: spec.evalEvery, checkpointEvery: spec.checkpointEvery, seed: t.seed },
      pm.namedTrainable(),
      rows.train,
      rows.eval,
      {
        loss: (r) => {
          const b = padRows(r, padId);
          const terms = pm.objectiveTerms.map((term) => term.compute());
          const lm = causalLmLoss(model, b.inputIds, b.attentionMask, b.lossMask);
          return (terms.length ? tf.addN([lm, ...terms]) : lm) as tf.Scalar;
        },
        evalLoss,
        tokens: (r) => r.reduce((a, x) => a + x.ids.length, 0),
        onStepEnd: (ctx) => pm.callbacks.forEach((cb) => cb.onStepEnd(ctx)),
        onStep: (report) => {
          losses.push({ step: report.step, loss: report.loss });
          post({ type: 'step', report });
        },
        onCheckpoint: async (state) => {
          await writeCheckpoint(ckDir, state, { jobId, totalSteps, seed: t.seed, rng: 'counter:(seed,epoch)', losses });
          post({ type: 'checkpoint', step: state.step });
        },
      },
    );
    const ck = await readCheckpoint(ckDir);
    if (ck) {
      if (ck.meta.totalSteps !== totalSteps) throw new Error(`checkpoint ${ckDir}: was written for ${ck.meta.totalSteps} steps, this job has ${totalSteps}`);
      loop.restore(ck.state);
      losses.push(...ck.meta.losses);
    }
    pm.setTraining(true);
    const report = pm.parameterReport();
    post({ type: 'ready', totalSteps, resumedFrom: loop.step, trainRows: rows.train.length, evalRows: rows.eval.length,
      trainable: report.trainable, total: report.total, evalLoss: loop.step === 0 ? loop.evaluate() : undefined });
    let reports;
    try {
      reports = await loop.run();
    } finally {
      loop.dispose();
    }
    const last = reports.at(-1);
    const adapterDir = adapterDirOf(home, spec.outputName, jobId);
    pm.setTraining(false);
    const baseModel = spec.baseStored ? `${spec.baseStored.name}@${spec.baseStored.version}` : spec.baseRef;
    const files = encodeAdapterFiles(saveAdapter(pm, { baseModel }));
    const initAdapter = spec.initAdapter ? (spec.initAdapter.stored ?? spec.initAdapter.ref) : undefined;
    await writeFolderAtomic(adapterDir, new Map<string, string | Uint8Array>([
      ...Object.entries(files),
      ['tuneloop_training.json', JSON.stringify({ jobId, method: spec.method, totalSteps, losses, ...(initAdapter ? { initAdapter } : {}) }, null, 2) + '\n'],
    ]), () => true);
    post({ type: 'done', adapterDir, finalLoss: last?.loss ?? losses.at(-1)?.loss ?? NaN, evalLoss: last?.evalLoss, steps: totalSteps });
  }
}
