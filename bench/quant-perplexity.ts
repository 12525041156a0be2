// Quantization accuracy on the tiny base model (benchmark, not a test): held-out perplexity and greedy
// exact match of the arith model under fp32, int8, int4, nf4 (+ double quant), fp4 and int2, each through
// the model store's stored layout (encode -> safetensors tensors -> decode -> CausalLM).
// Run: node --import tsx bench/quant-perplexity.ts [--model DIR] [--steps N]
//   --model: a folder from `tuneloop pretrain` (default $TUNELOOP_HOME/models/tiny-arith when present,
//   else the ARITH_SMALL recipe is trained here first). Writes bench/results/quant-perplexity.{json,md}.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { initBackend } from '@tuneloop/engine';
import { heldOutAdditions } from '@tuneloop/datasets';
import { arithScore, arithTokenizer, ARITH_SMALL, encodeExample, pretrainArith, rawFromTensors, type CausalLM, type ModelConfig } from '@tuneloop/model';
import { dequantize, storageBytes, type QuantScheme } from '@tuneloop/quant';
import { buildModel, decodeQuantized, DEFAULT_KEEP, encodeQuantized, loadStoredModel, perplexity } from '@tuneloop/model-store';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const backend = await initBackend();
const tok = arithTokenizer();
const defaultDir = path.resolve(process.env.TUNELOOP_HOME || '.tuneloop', 'models', 'tiny-arith');
const dir = arg('model') ?? (existsSync(path.join(defaultDir, 'config.json')) ? defaultDir : undefined);
let model: CausalLM;
let config: ModelConfig;
let source: string;
if (dir) {
  ({ model, config } = await loadStoredModel(dir));
  source = `pretrained folder ${dir}`;
} else {
  const steps = Number(arg('steps') ?? ARITH_SMALL.steps);
  const t0 = performance.now();
  const r = await pretrainArith({ ...ARITH_SMALL, steps }, undefined, 100);
  model = r.model;
  config = r.config;
  source = `ARITH_SMALL trained here (${steps} steps, ${((performance.now() - t0) / 1000).toFixed(0)} s, held-out exact match ${r.heldOutExactMatch.toFixed(3)})`;
}
const held = heldOutAdditions();
const ids = held.flatMap((ex) => encodeExample(tok, ex)); // held-out 2-digit additions, packed as in training
const window = Math.min(48, config.maxPositionEmbeddings);
const emLimit = 200;
const raw = rawFromTensors(model.namedWeights());
const keep = DEFAULT_KEEP.map((s) => new RegExp(s));

interface Row { variant: string; bitsPerParam: number; ppl: number; pplChangePct: number; exactMatch: number; snrDb: number }
const rows: Row[] = [];
const fp = await perplexity(model, ids, window);
rows.push({ variant: 'fp32', bitsPerParam: 32, ppl: fp.perplexity, pplChangePct: 0, exactMatch: arithScore(model, tok, held.slice(0, emLimit)).exactMatch, snrDb: Infinity });
const variants: { variant: string; scheme: QuantScheme; blockSize: number; doubleQuant: boolean }[] = [
  { variant: 'int8 (64)', scheme: 'int8', blockSize: 64, doubleQuant: false },
  { variant: 'nf4 (64)', scheme: 'nf4', blockSize: 64, doubleQuant: false },
  { variant: 'nf4 (64) + double quant', scheme: 'nf4', blockSize: 64, doubleQuant: true },
  { variant: 'fp4 (64)', scheme: 'fp4', blockSize: 64, doubleQuant: false },
  { variant: 'int4 (64)', scheme: 'int4', blockSize: 64, doubleQuant: false },
  { variant: 'int2 (64)', scheme: 'int2', blockSize: 64, doubleQuant: false },
  { variant: 'int2 (16)', scheme: 'int2', blockSize: 16, doubleQuant: false },
];
for (const v of variants) {
  const enc = encodeQuantized(raw, { scheme: v.scheme, blockSize: v.blockSize, doubleQuant: v.doubleQuant, keep });
  let bytes = 0, n = 0, se = 0, sig = 0;
  for (const { q } of enc.quantized.values()) {
    n += q.length;
    bytes += storageBytes(q).totalBytes;
  }
  const decoded = decodeQuantized(enc.tensors, enc.metadata);
  for (const [name, { q }] of decoded.quantized) {
    const orig = enc.quantized.get(name)!.original;
    const rec = dequantize(q);
    for (let i = 0; i < orig.length; i++) { const e = orig[i] - rec[i]; se += e * e; sig += orig[i] * orig[i]; }
  }
  const qm = buildModel(config, decoded);
  const p = await perplexity(qm, ids, window);
  const em = arithScore(qm, tok, held.slice(0, emLimit)).exactMatch;
  qm.dispose();
  rows.push({ variant: v.variant, bitsPerParam: (bytes * 8) / n, ppl: p.perplexity, pplChangePct: (100 * (p.perplexity - fp.perplexity)) / fp.perplexity, exactMatch: em, snrDb: 10 * Math.log10(sig / se) });
}
const report = { source, backend: backend.name, parameters: model.numParameters(), heldOutTokens: fp.tokens, window, exactMatchExamples: emLimit, keep: DEFAULT_KEEP, rows };
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/quant-perplexity.json', JSON.stringify(report, null, 2) + '\n');
const md = [
  `# Quantization vs perplexity on the tiny base model`,
  '',
  `Model: ${source}; ${report.parameters} parameters; backend ${backend.name}. Held-out text: the ${held.length} held-out 2-digit additions (${fp.tokens} scored tokens, windows of ${window}). Kept in full precision: ${DEFAULT_KEEP.join(', ')}. Exact match: greedy, first ${emLimit} held-out additions.`,
  '',
  '| variant | bits / quantized param | weight SNR (dB) | perplexity | change | exact match |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.variant} | ${r.bitsPerParam.toFixed(3)} | ${Number.isFinite(r.snrDb) ? r.snrDb.toFixed(1) : '-'} | ${r.ppl.toFixed(4)} | ${r.pplChangePct >= 0 ? '+' : ''}${r.pplChangePct.toFixed(2)}% | ${r.exactMatch.toFixed(3)} |`),
  '',
].join('\n');
await writeFile('bench/results/quant-perplexity.md', md);
process.stdout.write(md);
