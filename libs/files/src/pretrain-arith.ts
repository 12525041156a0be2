// The embedded tiny base model on disk: trains (or reuses) the Llama-architecture arith model of
// @tuneloop/model and saves it as a Hugging Face folder, cached under $TUNELOOP_HOME/models/tiny-arith.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { saveModel } from './model-io.ts';

export interface PretrainSummary {
  task: 'arith';
  out: string;
  backend: string;
  parameters: number;
  steps: number;
  seed: number;
  settings: Record<string, number>; // the full recipe (a cached folder is reused only for the same one)
  finalLoss: number; // mean loss of the last 20 steps
  heldOutExactMatch: number; // greedy exact match on held-out 2-digit additions
  heldOutCount: number;
  seconds: number;
  cached: boolean; // true when an existing folder was reused
}

/** Default folder of the embedded base model: $TUNELOOP_HOME/models/tiny-arith (TUNELOOP_HOME defaults to ./.tuneloop). */
export function defaultBaseModelDir(env: Record<string, string | undefined> = process.env): string {
  return path.resolve(env.TUNELOOP_HOME || '.tuneloop', 'models', 'tiny-arith');
}

function bar(step: number, total: number, loss: number, started: number, em: string): string {
  const width = 24;
  const done = Math.round((width * step) / total);
  const secs = (performance.now() - started) / 1000;
  const eta = step > 0 ? (secs / step) * (total - step) : 0;
  return `\r[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${step}/${total} loss ${loss.toFixed(3)} ${secs.toFixed(0)}s eta ${eta.toFixed(0)}s${em} `;
}

export interface PretrainOptions {
  out?: string;
  steps?: number;
  seed?: number;
  small?: boolean; // the fast test setting
  force?: boolean; // retrain even if the folder exists
  progress?: (line: string) => void;
}

/** Trains (or reuses) the tiny arith model and saves it; the library entry point behind the command. */
export async function pretrainArithToFolder(opts: PretrainOptions = {}): Promise<PretrainSummary> {
  const out = path.resolve(opts.out ?? defaultBaseModelDir());
  const { initBackend } = await import('@tuneloop/engine');
  const info = await initBackend({ quiet: !opts.progress });
  const lib = await import('@tuneloop/model');
  const base = opts.small ? lib.ARITH_SMALL : lib.ARITH_DEFAULT;
  const settings = { ...base, steps: opts.steps ?? base.steps, seed: opts.seed ?? base.seed };
  if (!Number.isInteger(settings.steps) || settings.steps < 1) throw new Error(`steps: must be an integer >= 1, got ${opts.steps}`);
  if (!Number.isInteger(settings.seed)) throw new Error(`seed: must be an integer, got ${opts.seed}`);
  const marker = path.join(out, 'pretrain.json');
  if (!opts.force && existsSync(marker) && existsSync(path.join(out, 'config.json'))) {
    const prev = JSON.parse(await readFile(marker, 'utf8')) as PretrainSummary;
    if (JSON.stringify(prev.settings) === JSON.stringify(settings)) return { ...prev, out, cached: true };
  }
  const started = performance.now();
  const { heldOutAdditions } = await import('@tuneloop/datasets');
  const probe = heldOutAdditions().slice(0, 100);
  let em = '';
  const result = await lib.pretrainArith(settings, (s, model, tok) => {
    if (!opts.progress) return;
    // Every 300 steps: greedy exact match on 100 held-out additions, so a long run shows how it is going.
    if ((s.step + 1) % 300 === 0 && s.step + 1 < settings.steps) em = `, held-out EM@100 ${(100 * lib.arithExactMatch(model, tok, probe)).toFixed(0)}%`;
    if (s.step % 5 === 0 || s.step === settings.steps - 1) opts.progress(bar(s.step + 1, settings.steps, s.loss, started, em));
  });
  opts.progress?.('\n');
  const tail = result.history.slice(-20);
  const summary: PretrainSummary = {
    task: 'arith',
    out,
    backend: info.name,
    parameters: result.parameters,
    steps: settings.steps,
    seed: settings.seed,
    settings: { ...settings },
    finalLoss: tail.reduce((a, h) => a + h.loss, 0) / tail.length,
    heldOutExactMatch: result.heldOutExactMatch,
    heldOutCount: result.heldOutCount,
    seconds: (performance.now() - started) / 1000,
    cached: false,
  };
  try {
    await saveModel(out, result.model, {
      tokenizer: result.tokenizer,
      generationConfig: { eosTokenId: result.config.eosTokenId, bosTokenId: result.config.bosTokenId, padTokenId: result.config.padTokenId },
      extraFiles: { 'pretrain.json': JSON.stringify(summary, null, 2) + '\n' },
    });
  } finally {
    result.model.dispose();
  }
  return summary;
}
