// @tuneloop/quant: int8 / int4 / NF4 (+ double quant) / FP4 / int2 codecs and a quantized linear layer.
export { NF4_CODE, FP4_CODE, DYNAMIC_MAP_SIGNED } from './codebooks.ts';
export { QUANT_SCHEMES, CODE_BITS } from './types.ts';
export type { QuantScheme, QuantizeOptions, QuantizedTensor, DoubleQuantState } from './types.ts';
export { quantize, dequantize, dequantizeRange } from './quantize.ts';
export { bitsPerParameter, storageBytes, quantizationError } from './metrics.ts';
export type { StorageBreakdown, QuantizationError } from './metrics.ts';
export { QuantInputError, checkQuantized, DEFAULT_BLOCK_SIZE } from './validate.ts';
export { decompressAbsmax } from './double-quant.ts';
export { QuantizedLinear, quantizeLinear, DEFAULT_TILE_ELEMENTS } from './quantized-linear.ts';
export type { QuantizedLinearOptions } from './quantized-linear.ts';
export { quantizeModelLinears } from './quantize-model.ts';
export type { QuantizableModel, QuantizeModelOptions, QuantizeModelReport } from './quantize-model.ts';
export { quantizedToTensors, quantizedFromTensors, hasQuantizedWeight } from './tensor-layout.ts';
