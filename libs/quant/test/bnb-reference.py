"""Independent NumPy/SciPy reference for bitsandbytes' blockwise NF4 / FP4 quantization and its
double quantization (functional.py quantize_4bit(compress_statistics=True), csrc/kernels.cu).

Written differently from the TypeScript codec on purpose: nearest codes by argmin / searchsorted over
the published tables instead of the kernels' decision trees and binary search; float32 arithmetic by
NumPy. It also regenerates the NF4 table from create_normal_map with SciPy, which checks the float32
torch.linspace emulation used for the dynamic map. Writes bnb-fixture.json beside this file.
Run: python3 libs/quant/test/bnb-reference.py
"""
import json
import pathlib

import numpy as np
from scipy.stats import norm

f32 = np.float32

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]
FP4_MAG = [0.0, 0.0625, 8.0, 12.0, 4.0, 6.0, 2.0, 3.0]  # bit patterns 0b000..0b111, before / 12
FP4_PIVOTS = [0.00260417, 0.0859375, 0.20833333, 0.29166667, 0.4166667, 0.583333, 0.8333333]  # dQuantizeFP4


def linspace_f32(a, b, n):
    """torch.linspace on CPU for float32: step and both halves in float32."""
    a, b = f32(a), f32(b)
    step = f32((b - a) / f32(n - 1))
    half = n // 2
    return np.array([f32(a + step * f32(i)) if i < half else f32(b - step * f32(n - i - 1)) for i in range(n)], dtype=np.float32)


def normal_map():
    offset = 0.9677083
    v1 = norm.ppf(linspace_f32(offset, 0.5, 9)[:-1].astype(np.float64)).tolist()
    v3 = (-norm.ppf(linspace_f32(offset, 0.5, 8)[:-1].astype(np.float64))).tolist()
    v = np.sort(np.array(v1 + [0] * 241 + v3, dtype=np.float32))
    v = v / v.max()
    return np.concatenate([v[:8], v[-8:]])


def dynamic_map():
    data = []
    for i in range(7):
        b = linspace_f32(0.1, 1.0, 2 ** i + 1)
        means = ((b[:-1] + b[1:]) / f32(2.0)).astype(np.float32)
        scale = f32(10.0 ** (i - 6))
        data += (scale * means).astype(np.float32).tolist() + (-scale * means).astype(np.float32).tolist()
    data += [0.0, 1.0]
    return np.array(sorted(data), dtype=np.float32)


def values(n, seed):
    """Irwin-Hall(4) samples from a 32-bit LCG, with a spike every 97th value: exact in any language."""
    s, out = seed, []
    for i in range(n):
        acc = 0
        for _ in range(4):
            s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
            acc += s
        x = (acc - 2 ** 33) / 2 ** 33 * 0.05
        out.append(x * 8 if i % 97 == 0 else x)
    return np.array(out, dtype=np.float32)


def nearest_lower(table, x):
    """Index of the nearest table value; a tie goes to the smaller value (table sorted)."""
    d = np.abs(table.astype(np.float64) - float(x))
    return int(np.argmin(d))


def fp4_code(x):
    sign = 8 if x < 0 else 0
    rank = int(np.searchsorted(np.array(FP4_PIVOTS, dtype=np.float32), f32(abs(x)), side='left'))
    by_rank = [0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011]  # magnitudes 0 .0625 2 3 4 6 8 12
    return by_rank[rank] + sign


def quantize_4bit(v, kind, blocksize):
    n = len(v)
    blocks = (n + blocksize - 1) // blocksize
    absmax = np.zeros(blocks, dtype=np.float32)
    codes = []
    nf4 = np.array(NF4, dtype=np.float32)
    for b in range(blocks):
        blk = v[b * blocksize:(b + 1) * blocksize]
        m = f32(np.max(np.abs(blk)))
        absmax[b] = m
        inv = f32(1.0) / m
        for x in blk:
            y = f32(x * inv)
            codes.append(nearest_lower(nf4, y) if kind == 'nf4' else fp4_code(y))
    if n % 2:
        codes.append(nearest_lower(nf4, f32(0)) if kind == 'nf4' else 0)
    packed = bytes((codes[2 * i] << 4) | codes[2 * i + 1] for i in range(len(codes) // 2))
    return packed, absmax


def double_quant(absmax, dmap):
    offset = f32(np.sum(absmax.astype(np.float64)) / len(absmax))
    centred = (absmax - offset).astype(np.float32)
    nested = (len(absmax) + 255) // 256
    absmax2 = np.zeros(nested, dtype=np.float32)
    codes = []
    for b in range(nested):
        blk = centred[b * 256:(b + 1) * 256]
        m = f32(np.max(np.abs(blk)))
        absmax2[b] = m
        inv = f32(1.0) / m
        codes += [nearest_lower(dmap, f32(x * inv)) for x in blk]
    return offset, bytes(codes), absmax2


def main():
    nf4_regen = normal_map()
    assert [float(x) for x in nf4_regen] == NF4, 'create_normal_map does not reproduce the NF4 table'
    dmap = dynamic_map()
    n, seed = 64 * 300 + 37, 1234
    v = values(n, seed)
    fixture = {'source': 'libs/quant/test/bnb-reference.py', 'n': n, 'seed': seed, 'blockSize': 64,
               'dynamicMap': [float(x) for x in dmap], 'valuesHead': [float(x) for x in v[:8]]}
    for kind in ('nf4', 'fp4'):
        packed, absmax = quantize_4bit(v, kind, 64)
        offset, dq_codes, absmax2 = double_quant(absmax, dmap)
        fixture[kind] = {'codes': packed.hex(), 'absmax': [float(x) for x in absmax],
                         'doubleQuant': {'offset': float(offset), 'codes': dq_codes.hex(),
                                         'absmax': [float(x) for x in absmax2]}}
    out = pathlib.Path(__file__).with_name('bnb-fixture.json')
    out.write_text(json.dumps(fixture) + '\n')
    print(f'wrote {out} ({out.stat().st_size} bytes)')


if __name__ == '__main__':
    main()
