// The CPU-heavy half of QuantizeModel, run in a worker thread (quantize-worker.ts): decode the weight
// files, quantize with quantized-format.ts, serialise model.safetensors, account storage and error,
// and (given a text) measure perplexity before and after with the model decoded back from the stored layout.
import { initBackend } from '@tuneloop/engine';
import { modelConfigFromHf, serializeSafetensors, tokenizerFromFiles } from '@tuneloop/model';
import { dequantize, storageBytes, type QuantScheme } from '@tuneloop/quant';
import { buildModel, decodeModelFiles } from './load-quantized.ts';
import { perplexity } from './perplexity.ts';
import { decodeQuantized, encodeQuantized } from './quantized-format.ts';

export interface QuantizeParams {
  scheme: QuantScheme;
  blockSize: number;
  doubleQuant: boolean;
  /** regular expressions (sources) of tensor names kept in full precision */
  keep: string[];
  evalText?: string;
  evalWindow?: number;
}

export interface QuantizeJob {
  /** the source's weight files (safetensors, index) by path */
  weightFiles: [string, Uint8Array][];
  rawConfig: Record<string, unknown>;
  tokenizerJson?: unknown;
  tokenizerConfig?: unknown;
  params: QuantizeParams;
}

export interface QuantizeReport {
  bitsPerParameter: number;
  bitsPerParameterOverall: number;
  bytesBefore: number;
  bytesAfter: number;
  quantizedParameters: number;
  fullPrecisionParameters: number;
  mse: number;
  maxAbsError: number;
  snrDb: number;
  quantizedTensors: string[];
  evalTokens: number;
  perplexityBefore: number;
  perplexityAfter: number;
}

export interface QuantizeJobResult {
  weights: Uint8Array;
  config: Uint8Array;
  parameterCount: number;
  report: QuantizeReport;
}

/** A failure the caller maps to INVALID_ARGUMENT naming `field`. */
export class QuantizeInputError extends Error {
  override name = 'QuantizeInputError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

export async function computeQuantized(job: QuantizeJob): Promise<QuantizeJobResult> {
  const p = job.params;
  const decoded = decodeModelFiles(new Map(job.weightFiles));
  const keep = p.keep.map((s) => new RegExp(s));
  const enc = encodeQuantized(decoded.plain, { scheme: p.scheme, blockSize: p.blockSize, doubleQuant: p.doubleQuant, keep });
  if (enc.quantized.size === 0) throw new QuantizeInputError('keep_full_precision', 'leaves no 2-D weight to quantize');
  const weights = serializeSafetensors(enc.tensors, enc.metadata);

  let qParams = 0;
  let qBytes = 0;
  let se = 0;
  let signal = 0;
  let maxAbs = 0;
  for (const { q, original } of enc.quantized.values()) {
    qParams += q.length;
    qBytes += storageBytes(q).totalBytes;
    const rec = dequantize(q);
    for (let i = 0; i < original.length; i++) {
      const e = original[i] - rec[i];
      se += e * e;
      signal += original[i] * original[i];
      maxAbs = Math.max(maxAbs, Math.abs(e));
    }
  }
  let fullPrecision = 0;
  let tensorBytes = 0;
  for (const [n, t] of enc.tensors) {
    tensorBytes += t.data.length;
    if (!enc.quantized.has(n) && !/\.(nested_)?absmax$/.test(n)) fullPrecision += t.shape.reduce((a, b) => a * b, 1);
  }
  const rawConfig = { ...job.rawConfig, quantization_config: { quant_method: 'tuneloop', scheme: p.scheme, block_size: p.blockSize, double_quant: p.doubleQuant, keep_full_precision: p.keep } };
  const report: QuantizeReport = {
    bitsPerParameter: (qBytes * 8) / qParams,
    bitsPerParameterOverall: (tensorBytes * 8) / (qParams + fullPrecision),
    bytesBefore: job.weightFiles.reduce((a, [, b]) => a + b.length, 0),
    bytesAfter: weights.length,
    quantizedParameters: qParams,
    fullPrecisionParameters: fullPrecision,
    mse: se / qParams,
    maxAbsError: maxAbs,
    snrDb: se === 0 ? Infinity : 10 * Math.log10(signal / se),
    quantizedTensors: [...enc.quantized.keys()],
    evalTokens: 0,
    perplexityBefore: 0,
    perplexityAfter: 0,
  };
  if (p.evalText) {
    const tokenizer = tokenizerFromFiles({ tokenizerJson: job.tokenizerJson, tokenizerConfig: job.tokenizerConfig });
    const config = modelConfigFromHf(job.rawConfig);
    const ids = tokenizer.encode(p.evalText, { addSpecialTokens: false });
    if (ids.length < 2) throw new QuantizeInputError('eval_text', `must encode to at least 2 tokens, got ${ids.length}`);
    const window = p.evalWindow || Math.min(config.maxPositionEmbeddings, 256);
    if (window < 2 || window > config.maxPositionEmbeddings) {
      throw new QuantizeInputError('eval_window', `must be 2-${config.maxPositionEmbeddings} (the context length), got ${window}`);
    }
    await initBackend({ quiet: true });
    const fp = buildModel(config, decoded);
    const before = await perplexity(fp, ids, window).finally(() => fp.dispose());
    const qm = buildModel(config, decodeQuantized(enc.tensors, enc.metadata));
    const after = await perplexity(qm, ids, window).finally(() => qm.dispose());
    Object.assign(report, { evalTokens: before.tokens, perplexityBefore: before.perplexity, perplexityAfter: after.perplexity });
  }
  return {
    weights,
    config: new TextEncoder().encode(JSON.stringify(rawConfig, null, 2) + '\n'),
    parameterCount: qParams + fullPrecision,
    report,
  };
}
