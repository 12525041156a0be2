// The code tables against the published constants (QLoRA appendix / bitsandbytes get_4bit_type,
// csrc/kernels.cu) and the nearest-code rules against values derived by hand from those tables.
import { describe, expect, it } from 'vitest';
import { DYNAMIC_MAP_SIGNED, FP4_CODE, NF4_CODE, dynamicEncode, fp4Encode, nf4Encode } from './codebooks.ts';

const f32 = Math.fround;

/** Inverse standard normal CDF (Acklam 2003, relative error < 1.2e-9). */
function normPpf(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

describe('NF4_CODE', () => {
  it('equals the published QLoRA / bitsandbytes table', () => {
    expect(NF4_CODE).toEqual([
      -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
      -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
      0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ]);
  });

  it('is float32-exact and rederives from create_normal_map(offset=0.9677083) quantiles', () => {
    for (const v of NF4_CODE) expect(f32(v)).toBe(v);
    const offset = 0.9677083;
    const pos = linspace(offset, 0.5, 9).slice(0, -1).map(normPpf); // 8 positive quantiles
    const neg = linspace(offset, 0.5, 8).slice(0, -1).map((p) => -normPpf(p)); // 7 negative quantiles
    const values = [...pos, 0, ...neg].sort((x, y) => x - y);
    const max = Math.max(...values);
    values.forEach((v, i) => expect(v / max).toBeCloseTo(NF4_CODE[i], 6));
  });
});

describe('FP4_CODE', () => {
  it('is sign | 2 exponent bits | 1 mantissa bit, bias 3, divided by 12 (bitsandbytes test_4bit_quant)', () => {
    for (let idx = 0; idx < 16; idx++) {
      const [sign, e1, e2, p1] = [(idx >> 3) & 1, (idx >> 2) & 1, (idx >> 1) & 1, idx & 1];
      const exp = e1 * 2 + e2;
      const mag = exp === 0 ? (p1 ? 0.0625 : 0) : 2 ** (-exp + 3 + 1) * (p1 ? 1.5 : 1);
      expect(FP4_CODE[idx]).toBe(f32(((sign ? -1 : 1) * mag) / 12));
    }
  });

  it('matches the CUDA dequantization LUT (fp4_dequantization_lut) in float32', () => {
    const lut = [0, 0.005208333333, 0.66666667, 1, 0.33333333, 0.5, 0.16666667, 0.25];
    lut.forEach((v, i) => {
      expect(FP4_CODE[i]).toBe(f32(v));
      expect(FP4_CODE[i + 8]).toBe(-f32(v));
    });
  });
});

describe('nf4Encode (dQuantizeNF4)', () => {
  it('maps every table value to its own index', () => {
    NF4_CODE.forEach((v, i) => expect(nf4Encode(v)).toBe(i));
  });

  it('breaks ties at the float32 midpoints towards the lower code, and the next float goes up', () => {
    for (let i = 0; i < 15; i++) {
      const mid = f32((NF4_CODE[i] + NF4_CODE[i + 1]) / 2);
      expect(nf4Encode(mid)).toBe(i);
      const up = new Float32Array([mid]);
      new Int32Array(up.buffer)[0] += mid >= 0 ? 1 : -1; // next float32 towards +inf
      expect(nf4Encode(up[0])).toBe(i + 1);
    }
  });

  it('sends NaN (an all-zero block: 0 * Infinity) to code 0, as the CUDA tree does', () => {
    expect(nf4Encode(NaN)).toBe(0);
  });

  it('agrees with brute-force nearest code on random values', () => {
    let s = 12345;
    for (let t = 0; t < 20000; t++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const x = f32((s / 2147483648) * 2 - 1);
      let best = 0;
      for (let k = 1; k < 16; k++) if (Math.abs(x - NF4_CODE[k]) < Math.abs(x - NF4_CODE[best])) best = k;
      expect(nf4Encode(x)).toBe(best);
    }
  });
});

describe('fp4Encode (dQuantizeFP4)', () => {
  it('maps every table value to its own code (0 and -0 both to their sign)', () => {
    FP4_CODE.forEach((v, i) => expect(fp4Encode(v)).toBe(i === 8 ? 0 : i));
    expect(fp4Encode(-0.001)).toBe(0b1000);
  });

  it('uses the kernel pivots: a value equal to a pivot goes to the smaller magnitude', () => {
    // pivot literal -> [code at the pivot, code just above]
    const cases: [number, number, number][] = [
      [0.00260417, 0b0000, 0b0001], [0.0859375, 0b0001, 0b0110], [0.20833333, 0b0110, 0b0111],
      [0.29166667, 0b0111, 0b0100], [0.4166667, 0b0100, 0b0101], [0.583333, 0b0101, 0b0010], [0.8333333, 0b0010, 0b0011],
    ];
    for (const [p, at, above] of cases) {
      const x = new Float32Array([p]);
      expect(fp4Encode(x[0])).toBe(at);
      expect(fp4Encode(-x[0])).toBe(at | 0b1000);
      new Int32Array(x.buffer)[0] += 1;
      expect(fp4Encode(x[0])).toBe(above);
    }
  });
});

describe('DYNAMIC_MAP_SIGNED (create_dynamic_map(signed=True))', () => {
  it('has 256 sorted float32 values with the hand-derived ends', () => {
    const c = DYNAMIC_MAP_SIGNED;
    expect(c.length).toBe(256);
    for (let i = 1; i < 256; i++) expect(c[i]).toBeGreaterThan(c[i - 1]);
    // exponent 6: linspace(0.1, 1, 65) -> last midpoint (0.9859375 + 1) / 2 = 0.99296875
    expect(c[0]).toBe(f32(-0.99296875));
    expect(c[254]).toBe(f32(0.99296875));
    expect(c[255]).toBe(1);
    expect(c[127]).toBe(0);
    // exponent 0: linspace(0.1, 1, 2) -> midpoint 0.55, times 1e-6
    expect(c[128]).toBeCloseTo(5.5e-7, 12);
    // 2^i fraction values per decade [0.1, 1) * 10^(i-6)
    for (let i = 0; i < 7; i++) {
      const lo = 0.1 * 10 ** (i - 6);
      const hi = 10 ** (i - 6);
      expect(Array.from(c).filter((v) => v > lo && v < hi).length).toBe(2 ** i);
    }
  });

  it('dQuantize returns the nearest code and round-trips every code', () => {
    const c = DYNAMIC_MAP_SIGNED;
    for (let k = 0; k < 256; k++) expect(dynamicEncode(c, c[k])).toBe(k);
    let s = 99;
    for (let t = 0; t < 5000; t++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const u = s / 2147483648;
      const x = f32((u * 2 - 1) * 10 ** -((t % 7) * u));
      const got = dynamicEncode(c, x);
      let best = Infinity;
      for (let k = 0; k < 256; k++) best = Math.min(best, Math.abs(x - c[k]));
      expect(Math.abs(x - c[got])).toBe(best);
    }
  });
});
