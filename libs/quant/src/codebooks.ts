// The 4-bit code tables and the signed dynamic 8-bit map of bitsandbytes, with its exact
// nearest-code rules (csrc/kernels.cu: dQuantizeNF4, dQuantizeFP4, dQuantize; functional.py).

const f32 = Math.fround;

/** NF4 (QLoRA, Dettmers et al. 2023): index = 4-bit code, value in [-1, 1]. bitsandbytes get_4bit_type('nf4'). */
export const NF4_CODE: readonly number[] = Object.freeze([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
]);

/** FP4 (1 sign, 2 exponent, 1 mantissa bit), in bit-pattern order, divided by its absmax 12 in
 * float32 as bitsandbytes get_4bit_type('fp4') does. Code 0b1000 is -0. */
export const FP4_CODE: readonly number[] = Object.freeze(
  [0, 0.0625, 8, 12, 4, 6, 2, 3, -0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => f32(v / 12)),
);

const NF4_LUT = Float32Array.from(NF4_CODE);
const FP4_LUT = Float32Array.from(FP4_CODE);

/** Float32 lookup tables used by the decoders (same numbers as NF4_CODE / FP4_CODE). */
export function codeLut(scheme: 'nf4' | 'fp4'): Float32Array {
  return scheme === 'nf4' ? NF4_LUT : FP4_LUT;
}

// Decision-tree pivots of dQuantizeNF4: midpoints of neighbouring NF4 values, as float literals.
const N = {
  p1: f32(0.03979014977812767), p11: f32(0.3893125355243683), p111: f32(0.6427869200706482),
  p1111: f32(0.8614784181118011), p110: f32(0.5016634166240692), p10: f32(0.2035212516784668),
  p101: f32(0.2920137718319893), p100: f32(0.1202552504837513), p0: f32(-0.33967943489551544),
  p01: f32(-0.13791173323988914), p011: f32(-0.045525018125772476), p010: f32(-0.23460740596055984),
  p00: f32(-0.6106329262256622), p001: f32(-0.4599952697753906), p000: f32(-0.8480964004993439),
};

/** dQuantizeNF4: x is the float32 product value * (1 / absmax). Strict `>`: a tie goes to the lower
 * code; NaN (an all-zero block, 0 * Infinity) falls through to code 0, as on the GPU. */
export function nf4Encode(x: number): number {
  if (x > N.p1) {
    if (x > N.p11) {
      if (x > N.p111) return x > N.p1111 ? 0b1111 : 0b1110;
      return x > N.p110 ? 0b1101 : 0b1100;
    }
    if (x > N.p10) return x > N.p101 ? 0b1011 : 0b1010;
    return x > N.p100 ? 0b1001 : 0b1000;
  }
  if (x > N.p0) {
    if (x > N.p01) return x > N.p011 ? 0b0111 : 0b0110;
    return x > N.p010 ? 0b0101 : 0b0100;
  }
  if (x > N.p00) return x > N.p001 ? 0b0011 : 0b0010;
  return x > N.p000 ? 0b0001 : 0b0000;
}

// Pivots of dQuantizeFP4 (midpoints of the FP4 magnitudes, divided by 12).
const F = {
  a: f32(0.29166667), b: f32(0.583333), c: f32(0.8333333), d: f32(0.4166667),
  e: f32(0.0859375), f: f32(0.20833333), g: f32(0.00260417),
};

/** dQuantizeFP4: sign bit 0b1000 for x < 0, then a binary search on |x| (ties go down). */
export function fp4Encode(x: number): number {
  const sign = x < 0 ? 0b1000 : 0;
  const a = Math.abs(x);
  if (a > F.a) {
    if (a > F.b) return (a > F.c ? 0b0011 : 0b0010) + sign;
    return (a > F.d ? 0b0101 : 0b0100) + sign;
  }
  if (a > F.e) return (a > F.f ? 0b0111 : 0b0110) + sign;
  return (a > F.g ? 0b0001 : 0b0000) + sign;
}

/** torch.linspace(start, end, steps) for float32 on CPU: step and both halves in float32. */
function linspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)));
  }
  return out;
}

/** bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): 256 sorted
 * float32 values; for exponent i = 0..6, 2^i fraction midpoints of linspace(0.1, 1) scaled by
 * 10^(i-6), both signs, plus 0 and 1. Dettmers 2015, "8-Bit Approximations for Parallelism". */
function createSignedDynamicMap(): Float32Array {
  const data: number[] = [];
  const maxExponentBits = 7;
  for (let i = 0; i < maxExponentBits; i++) {
    const boundaries = linspaceF32(0.1, 1, 2 ** i + 1);
    const scale = f32(10 ** (i - (maxExponentBits - 1)));
    for (let j = 0; j + 1 < boundaries.length; j++) {
      const mean = f32(f32(boundaries[j] + boundaries[j + 1]) / 2);
      data.push(f32(scale * mean), f32(-scale * mean));
    }
  }
  data.push(0, 1);
  data.sort((a, b) => a - b);
  return Float32Array.from(data);
}

/** The signed dynamic 8-bit map (256 values, sorted, code[255] = 1) used for double quantization. */
export const DYNAMIC_MAP_SIGNED: Float32Array = createSignedDynamicMap();

/** dQuantize<STOCHASTIC=0>: 7-step binary search from pivot 127, then the nearer of the two
 * neighbours by midpoint (a tie keeps the searched pivot). x = value * (1 / absmax) in float32. */
export function dynamicEncode(code: Float32Array, x: number): number {
  let pivot = 127;
  let upperPivot = 255;
  let lowerPivot = 0;
  let lower = -1;
  let upper = 1;
  let val = code[pivot];
  for (let i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lowerPivot = pivot;
      lower = val;
      pivot += i;
    } else {
      upperPivot = pivot;
      upper = val;
      pivot -= i;
    }
    val = code[pivot];
  }
  if (upperPivot === 255) upper = code[upperPivot];
  if (lowerPivot === 0) lower = code[lowerPivot];
  if (x > val) return x > f32(f32(upper + val) * 0.5) ? upperPivot : pivot;
  return x < f32(f32(lower + val) * 0.5) ? lowerPivot : pivot;
}
