// The QLoRA base: a frozen linear re-encoded as a packed 4-bit QuantizedLinear from @tuneloop/quant
// (NF4 + double quant by default); the LoRA layer on top is the ordinary LoraLayer.
import { quantizeLinear } from '@tuneloop/quant';
import * as tf from '@tensorflow/tfjs-core';
import { denseWeightOf, isQuantizedBase, type LinearModule } from '../../core/linear.ts';
import type { QloraConfig } from './config.ts';

/**
 * Pack a base linear to 4 bits; an already packed base is kept as it is. The float32 original stays owned
 * by the model (CausalLM keeps its base linears, so unload restores them); to hold only the packed base
 * (~0.52 bytes per parameter), quantize the model first with @tuneloop/quant's quantizeModelLinears
 * (which releases the dense bases) or load it packed, then apply QLoRA.
 */
export function quantizeBase(base: LinearModule, c: QloraConfig): LinearModule {
  if (isQuantizedBase(base)) return base;
  const { weightT, bias } = denseWeightOf(base);
  const weight = tf.tidy(() => tf.transpose(weightT) as tf.Tensor2D); // HF layout [out, in]
  const q = quantizeLinear(base.name, weight, {
    scheme: c.bnb_4bit_quant_type,
    blockSize: c.block_size,
    doubleQuant: c.bnb_4bit_use_double_quant,
    bias: bias ? Float32Array.from(bias.dataSync()) : null,
  });
  weightT.dispose();
  weight.dispose();
  bias?.dispose();
  return q;
}
