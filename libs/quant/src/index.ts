// @tuneloop/quant: int8 / int4 / NF4 (+ double quant) / FP4 / int2 codecs and a quantized linear layer.
export {};
