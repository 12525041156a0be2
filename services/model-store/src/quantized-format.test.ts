// The stored layout of quantized models: encode -> safetensors bytes -> decode gives back exactly the
// QuantizedTensors of @tuneloop/quant (codes, scales, double-quant state), the selection rule, parameter
// counts, and sharded source folders.
import { fromFloat32, parseSafetensors, planShards, serializeSafetensors, shardIndexJson, type RawTensor } from '@tuneloop/model';
import { dequantize, quantize } from '@tuneloop/quant';
import { describe, expect, it } from 'vitest';
import { decodeModelFiles } from './load-quantized.ts';
import { DEFAULT_KEEP, decodeQuantized, encodeQuantized, parameterCountOf, QUANT_METADATA_KEY, shouldQuantize } from './quantized-format.ts';

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  });
}

const keep = DEFAULT_KEEP.map((k) => new RegExp(k));
const weights = new Map<string, RawTensor>([
  ['model.embed_tokens.weight', fromFloat32(seeded(32 * 64, 1), 'F32', [32, 64])],
  ['model.layers.0.self_attn.q_proj.weight', fromFloat32(seeded(64 * 64, 2), 'F32', [64, 64])],
  ['model.layers.0.mlp.down_proj.weight', fromFloat32(seeded(64 * 128, 3), 'BF16', [64, 128])],
  ['model.layers.0.self_attn.q_proj.bias', fromFloat32(seeded(64, 4), 'F32', [64])],
  ['model.layers.0.input_layernorm.weight', fromFloat32(new Float32Array(64).fill(1), 'F32', [64])],
  ['lm_head.weight', fromFloat32(seeded(32 * 64, 5), 'F32', [32, 64])],
]);

describe('quantized safetensors layout', () => {
  it('quantizes only 2-D weights not kept (embeddings, norms, lm_head stay)', () => {
    const names = [...weights].filter(([n, t]) => shouldQuantize(n, t, keep)).map(([n]) => n);
    expect(names).toEqual(['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.mlp.down_proj.weight']);
  });

  it.each([
    ['nf4', true],
    ['nf4', false],
    ['int8', false],
    ['int2', false],
  ] as const)('round-trips %s (double quant %s) through safetensors bytes exactly', (scheme, doubleQuant) => {
    const enc = encodeQuantized(weights, { scheme, blockSize: 64, doubleQuant, keep });
    const bytes = serializeSafetensors(enc.tensors, enc.metadata);
    const parsed = parseSafetensors(bytes);
    const meta = JSON.parse(parsed.metadata![QUANT_METADATA_KEY]) as { scheme: string; tensors: Record<string, { dtype: string; shape: number[] }> };
    expect(meta.scheme).toBe(scheme);
    expect(meta.tensors['model.layers.0.mlp.down_proj.weight']).toMatchObject({ dtype: 'BF16', shape: [64, 128] });
    expect(parsed.tensors.get('model.layers.0.self_attn.q_proj.weight')!.dtype).toBe('U8');
    expect(parsed.tensors.get('model.layers.0.self_attn.q_proj.weight.absmax')!.dtype).toBe(doubleQuant ? 'U8' : 'F32');
    expect(parsed.tensors.has('model.layers.0.self_attn.q_proj.weight.nested_absmax')).toBe(doubleQuant);
    const dec = decodeQuantized(parsed.tensors, parsed.metadata);
    expect([...dec.plain.keys()].sort()).toEqual(['lm_head.weight', 'model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.q_proj.bias']);
    for (const [name, { q }] of enc.quantized) {
      const back = dec.quantized.get(name)!.q;
      expect(back.codes).toEqual(q.codes);
      expect(back.shape).toEqual(q.shape);
      expect(dequantize(back)).toEqual(dequantize(q));
    }
    // the stored codes are exactly those libs/quant produces for the same values
    const direct = quantize(enc.quantized.get('model.layers.0.self_attn.q_proj.weight')!.original, { scheme, blockSize: 64, doubleQuant });
    expect(dec.quantized.get('model.layers.0.self_attn.q_proj.weight')!.q.codes).toEqual(direct.codes);
    const entries = [...parsed.tensors].map(([name, t]) => ({ name, shape: t.shape }));
    expect(parameterCountOf(entries, dec.meta)).toBe(32 * 64 * 2 + 64 * 64 + 64 * 128 + 64 + 64);
  });

  it('reads a plain file as plain and rejects bad metadata', () => {
    const dec = decodeQuantized(weights, { format: 'pt' });
    expect(dec.meta).toBeNull();
    expect(dec.plain.size).toBe(weights.size);
    expect(() => decodeQuantized(weights, { [QUANT_METADATA_KEY]: '{"version": 9}' })).toThrow(`__metadata__.${QUANT_METADATA_KEY}: must be {version: 1`);
  });

  it('decodes a sharded source (index + shards) into one set of tensors', () => {
    const shards = planShards([...weights], 20_000);
    expect(shards.length).toBeGreaterThan(1);
    const files = new Map<string, Uint8Array>();
    for (const s of shards) files.set(s.file, serializeSafetensors(s.names.map((n) => [n, weights.get(n)!] as [string, RawTensor])));
    files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(shardIndexJson(shards, weights))));
    const dec = decodeModelFiles(files);
    expect([...dec.plain.keys()].sort()).toEqual([...weights.keys()].sort());
  });
});
