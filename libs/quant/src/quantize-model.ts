// Replace a model's dense linear layers by QuantizedLinear (QLoRA: the base model held in NF4 + DQ),
// through the model's linear table (CONTRACTS.md: model.linears() / model.setLinear()).
import type * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from '@tuneloop/model';
import { QuantizedLinear, quantizeLinear, type QuantizedLinearOptions } from './quantized-linear.ts';
import type { QuantizeOptions } from './types.ts';

/** What the helper needs of a model: its linear table (CausalLM also honours releaseBase). */
export interface QuantizableModel {
  linears(): Map<string, LinearModule>;
  setLinear(name: string, module: LinearModule, opts?: { releaseBase?: boolean }): void;
}

/** A linear whose dense HF-layout weight can be read (DenseLinear does). */
interface DenseSource extends LinearModule {
  weight(): tf.Tensor2D; // [out, in], a new tensor the caller disposes
  bias?: tf.Tensor1D | null;
}

function isDense(m: LinearModule): m is DenseSource {
  return typeof (m as Partial<DenseSource>).weight === 'function' && !(m instanceof QuantizedLinear);
}

export interface QuantizeModelOptions extends QuantizeOptions, QuantizedLinearOptions {
  /** Which linears to quantize, by HF module path. Default: every linear except lm_head. */
  include?: (name: string) => boolean;
  /**
   * Let the model drop the dense float32 weights each quantized linear replaces (CausalLM disposes them;
   * its namedWeights() then exports the dequantized weights). Default true: that is what makes a QLoRA base
   * cost ~0.52 bytes per parameter. false keeps the dense base resident (e.g. to export the original).
   */
  releaseBase?: boolean;
}

export interface QuantizeModelReport {
  quantized: string[];
  /** Linears left as they were: excluded by `include`, or not dense (already wrapped or quantized). */
  skipped: string[];
  parameters: number;
  /** Bytes of the quantized weights as stored in memory (codes + scales + double-quant state). */
  quantizedBytes: number;
  /** The same parameters in float32. */
  fp32Bytes: number;
}

const DEFAULT_INCLUDE = (name: string) => name !== 'lm_head';

/** Quantize the selected dense linears of `model` in place. The replaced dense modules are the
 * model's: with releaseBase (default) it frees them, without it keeps them as its base. */
export function quantizeModelLinears(model: QuantizableModel, opts: QuantizeModelOptions): QuantizeModelReport {
  const include = opts.include ?? DEFAULT_INCLUDE;
  const report: QuantizeModelReport = { quantized: [], skipped: [], parameters: 0, quantizedBytes: 0, fp32Bytes: 0 };
  for (const [name, module] of model.linears()) {
    if (!include(name) || !isDense(module)) {
      report.skipped.push(name);
      continue;
    }
    const w = module.weight();
    let q: QuantizedLinear;
    try {
      q = quantizeLinear(name, w, {
        scheme: opts.scheme,
        blockSize: opts.blockSize,
        doubleQuant: opts.doubleQuant,
        tileElements: opts.tileElements,
        bias: module.bias ?? null,
      });
    } finally {
      w.dispose();
    }
    model.setLinear(name, q, { releaseBase: opts.releaseBase ?? true });
    report.quantized.push(name);
    report.parameters += q.weight.length;
    report.quantizedBytes += q.weightMemoryBytes();
    report.fp32Bytes += 4 * q.weight.length;
  }
  return report;
}
