// Model benchmark (not a test): forward, LoRA and full fine-tuning and KV-cache generation tokens/s of the
// reference config (vocab 512, d 256, 4 layers, 4 heads, SwiGLU 688, batch 8 x 128), next to the PyTorch
// anchor (../shared/anchors/torch-reference.sh) run in the same invocation, with the ratios.
// Run: npx tsx bench/model.ts [--reps 3] [--backend wasm|cpu] [--no-anchor]   (JSON on stdout and in bench/results/)
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, createRng, initBackend, type BackendName } from '@tuneloop/engine';
import { CausalLM, causalLmLoss, generate, initWeights, type ModelConfig } from '@tuneloop/model';
import { getPeftMethod } from '@tuneloop/peft';
import { runAnchor } from './anchor.ts';
import { writeResult } from './results.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const REPS = Number(opt('reps', '3'));
const BACKEND = opt('backend', '') as BackendName | '';

const REF: ModelConfig = {
  modelType: 'llama',
  vocabSize: 512,
  hiddenSize: 256,
  intermediateSize: 688,
  numHiddenLayers: 4,
  numAttentionHeads: 4,
  numKeyValueHeads: 4,
  maxPositionEmbeddings: 256,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  attentionBias: false,
  tieWordEmbeddings: false,
};
const BATCH = 8;
const SEQ = 128;
const PROMPT = 16; // generation: as the anchor, 8 prompts of 16 tokens, 112 new tokens each, greedy
const GEN = 112;
// LoRA as the anchor's `lora` test: r 8, alpha 16 on every projection, only A and B train (AdamW)
const LORA = { r: 8, lora_alpha: 16, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };

/** Median of `reps` timed runs after one warm-up, in seconds. */
function timeIt(fn: () => void, reps: number): { median: number; times: number[] } {
  fn();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  const s = [...times].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], times };
}

async function main(): Promise<void> {
  const backend = await initBackend(BACKEND ? { backend: BACKEND } : {});
  const rng = createRng(0);
  const w = initWeights(REF, rng);
  const model = new CausalLM(REF, w);
  tf.dispose([...w.values()]);
  const ids = Array.from({ length: BATCH }, () => Array.from({ length: SEQ }, () => rng.int(REF.vocabSize)));
  const tokens = BATCH * SEQ;
  const parameters = model.numParameters();

  const fwd = timeIt(() => tf.tidy(() => void model.forward({ inputIds: ids }).dataSync()), REPS);

  /** One training step (forward, causal-LM loss, gradients of `vars`, AdamW) timed; returns the timing and last loss. */
  const trainSteps = (vars: tf.Variable[]) => {
    const adam = new AdamW({ weightDecay: 0.01 });
    let loss = NaN;
    const timing = timeIt(() => {
      const { value, grads } = tf.variableGrads(() => causalLmLoss(model, ids), vars);
      adam.apply(vars, vars.map((v) => grads[v.name]), 1e-4);
      loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
    }, REPS);
    adam.dispose();
    return { ...timing, loss };
  };

  const lora = getPeftMethod('lora');
  const peft = lora.apply(model, lora.parseConfig(LORA), { seed: 0 });
  peft.setTraining(true);
  const loraTrainable = peft.parameterReport().trainable;
  const loraTrain = trainSteps(peft.trainableVariables());
  peft.unload(); // base linears back, unfrozen

  const train = trainSteps(model.trainableVariables());
  const loss = train.loss;

  const prompts = ids.map((r) => r.slice(0, PROMPT));
  const gen = timeIt(() => void generate(model, prompts, { temperature: 0, maxNewTokens: GEN, eosTokenIds: [] }), Math.max(1, REPS - 1));
  model.dispose();

  const ours = {
    forward_tok_s: tokens / fwd.median,
    train_lora_tok_s: tokens / loraTrain.median,
    train_full_tok_s: tokens / train.median,
    gen_kv_tok_s: (BATCH * GEN) / gen.median,
  };
  const anchor = argv.includes('--no-anchor') ? null : runAnchor(['--tests', 'fwd,lora,full,gen', '--reps', String(REPS)]);
  const t = anchor?.tests as Record<string, Record<string, number>> | undefined;
  const theirs = t
    ? { forward_tok_s: t.forward_base?.tok_s, train_lora_tok_s: t.train_lora?.tok_s, train_full_tok_s: t.train_full?.tok_s, gen_kv_tok_s: t.gen_kv?.gen_tok_s }
    : null;
  const ratio = (k: keyof typeof ours) => (theirs?.[k] ? ours[k] / theirs[k] : null);
  const result = {
    bench: 'model',
    date: new Date().toISOString(),
    config: { ...REF, batch: BATCH, seq: SEQ, prompt: PROMPT, gen: GEN, parameters },
    backend: backend.name,
    backendDetail: backend.detail,
    reps: REPS,
    tuneloop: {
      ...ours,
      forward_s: fwd.times,
      train_lora_s: loraTrain.times,
      train_s: train.times,
      gen_s: gen.times,
      train_lora_loss: loraTrain.loss,
      train_loss: loss,
      lora_trainable: loraTrainable,
    },
    anchor: theirs ? { ...theirs, torch_version: anchor?.torch_version, threads: anchor?.threads } : { error: anchor === null ? 'skipped' : 'no result' },
    ratio_tuneloop_over_torch: theirs
      ? { forward: ratio('forward_tok_s'), train_lora: ratio('train_lora_tok_s'), train_full: ratio('train_full_tok_s'), gen_kv: ratio('gen_kv_tok_s') }
      : null,
    note: 'forward vs the anchor forward_base (no adapter); LoRA r 8 alpha 16 on q,k,v,o,gate,up,down as the anchor lora test',
  };
  const file = writeResult('model', result);
  process.stdout.write(JSON.stringify({ ...result, file }, null, 2) + '\n');
}

await main();
