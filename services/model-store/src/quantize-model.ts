// Quantize a stored full-precision model into new files: the weights re-encoded by quantized-format.ts
// into one model.safetensors, config.json with a `quantization_config`, every other file shared by hash.
// Reports storage (bits per parameter, bytes before/after), reconstruction error and, given a text,
// the perplexity before and after (the quantized model decoded back from the stored layout).
import { initBackend } from '@tuneloop/engine';
import { INDEX_FILE, modelConfigFromHf, serializeSafetensors, tokenizerFromFiles } from '@tuneloop/model';
import { storageBytes, dequantize, type QuantScheme } from '@tuneloop/quant';
import { FailedPreconditionError, InvalidArgumentError } from '@tuneloop/service-kit';
import { sha256Hex, type BlobStore } from './backend.ts';
import type { ManifestFile, ModelManifest } from './catalog.ts';
import { readBlob } from './folder-check.ts';
import { buildModel, decodeModelFiles } from './load-quantized.ts';
import { perplexity } from './perplexity.ts';
import { decodeQuantized, encodeQuantized } from './quantized-format.ts';

export interface QuantizeParams {
  scheme: QuantScheme;
  blockSize: number;
  doubleQuant: boolean;
  keep: RegExp[];
  evalText?: string;
  evalWindow?: number;
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

export interface QuantizedFiles {
  /** the new folder: shared entries plus new files with their bytes */
  files: { entry: ManifestFile; bytes?: Uint8Array }[];
  configJson: string;
  parameterCount: number;
  report: QuantizeReport;
}

const isWeightFile = (p: string) => p.endsWith('.safetensors') || p === INDEX_FILE;

export async function quantizeModelFiles(blobs: BlobStore, source: ModelManifest, p: QuantizeParams): Promise<QuantizedFiles> {
  if (source.quantization !== 'none') {
    throw new FailedPreconditionError(`${source.name}@${source.version} is already quantized (${source.quantization}); quantize a full-precision version`);
  }
  const weightFiles = source.files.filter((f) => isWeightFile(f.path));
  const bytes = new Map<string, Uint8Array>();
  for (const f of weightFiles) bytes.set(f.path, await readBlob(blobs, f));
  const decoded = decodeModelFiles(bytes);
  bytes.clear();
  const enc = encodeQuantized(decoded.plain, { scheme: p.scheme, blockSize: p.blockSize, doubleQuant: p.doubleQuant, keep: p.keep });
  if (enc.quantized.size === 0) throw new InvalidArgumentError('keep_full_precision', 'leaves no 2-D weight to quantize');
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
  let allParams = 0;
  let tensorBytes = 0;
  for (const [n, t] of enc.tensors) {
    tensorBytes += t.data.length;
    if (!enc.quantized.has(n) && !n.endsWith('.absmax')) allParams += t.shape.reduce((a, b) => a * b, 1);
  }
  const fullPrecisionParameters = allParams;
  allParams += qParams;

  const cfgEntry = source.files.find((f) => f.path === 'config.json')!;
  const rawConfig = JSON.parse(new TextDecoder().decode(await readBlob(blobs, cfgEntry))) as Record<string, unknown>;
  rawConfig.quantization_config = {
    quant_method: 'tuneloop',
    scheme: p.scheme,
    block_size: p.blockSize,
    double_quant: p.doubleQuant,
    keep_full_precision: p.keep.map((r) => r.source),
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(rawConfig, null, 2) + '\n');

  const report: QuantizeReport = {
    bitsPerParameter: (qBytes * 8) / qParams,
    bitsPerParameterOverall: (tensorBytes * 8) / allParams,
    bytesBefore: weightFiles.reduce((a, f) => a + f.size, 0),
    bytesAfter: weights.length,
    quantizedParameters: qParams,
    fullPrecisionParameters,
    mse: se / qParams,
    maxAbsError: maxAbs,
    snrDb: se === 0 ? Infinity : 10 * Math.log10(signal / se),
    quantizedTensors: [...enc.quantized.keys()],
    evalTokens: 0,
    perplexityBefore: 0,
    perplexityAfter: 0,
  };
  if (p.evalText) Object.assign(report, await evaluate(blobs, source, rawConfig, decoded, enc, p));

  const files: QuantizedFiles['files'] = source.files.filter((f) => !isWeightFile(f.path) && f.path !== 'config.json').map((entry) => ({ entry }));
  files.push({ entry: { path: 'config.json', size: configBytes.length, sha256: sha256Hex(configBytes) }, bytes: configBytes });
  files.push({ entry: { path: 'model.safetensors', size: weights.length, sha256: sha256Hex(weights) }, bytes: weights });
  return { files, configJson: JSON.stringify(rawConfig), parameterCount: allParams, report };
}

async function evaluate(
  blobs: BlobStore,
  source: ModelManifest,
  rawConfig: Record<string, unknown>,
  decoded: ReturnType<typeof decodeModelFiles>,
  enc: ReturnType<typeof encodeQuantized>,
  p: QuantizeParams,
): Promise<Pick<QuantizeReport, 'evalTokens' | 'perplexityBefore' | 'perplexityAfter'>> {
  const tokFile = source.files.find((f) => f.path === 'tokenizer.json');
  if (!tokFile) throw new FailedPreconditionError(`eval_text: ${source.name}@${source.version} has no tokenizer.json`);
  const tokCfgFile = source.files.find((f) => f.path === 'tokenizer_config.json');
  const json = async (f: ManifestFile) => JSON.parse(new TextDecoder().decode(await readBlob(blobs, f))) as unknown;
  const tokenizer = tokenizerFromFiles({ tokenizerJson: await json(tokFile), tokenizerConfig: tokCfgFile ? await json(tokCfgFile) : undefined });
  const config = modelConfigFromHf(rawConfig);
  const ids = tokenizer.encode(p.evalText!, { addSpecialTokens: false });
  const window = p.evalWindow || Math.min(config.maxPositionEmbeddings, 256);
  await initBackend();
  const fp = buildModel(config, decoded);
  const before = await perplexity(fp, ids, window).finally(() => fp.dispose());
  const q = buildModel(config, decodeQuantized(enc.tensors, enc.metadata));
  const after = await perplexity(q, ids, window).finally(() => q.dispose());
  return { evalTokens: before.tokens, perplexityBefore: before.perplexity, perplexityAfter: after.perplexity };
}
