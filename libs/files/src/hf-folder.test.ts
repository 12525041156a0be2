// Load/save round trips of Hugging Face-layout folders made here with random weights (plain Llama,
// sharded BF16, Qwen2-style with qkv bias and tied embeddings), malformed folders, atomic replacement.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charTokenizer, type RawTensor } from '@tuneloop/model';
import { loadHfFolder } from './load-hf-folder.ts';
import { saveHfFolder } from './save-hf-folder.ts';
import { randomWeights, tinyConfig } from './test-fixtures.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tuneloop-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function expectSameTensors(a: Map<string, RawTensor>, b: Map<string, RawTensor>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name)!;
    expect([name, u.dtype, u.shape]).toEqual([name, t.dtype, t.shape]);
    expect(Buffer.from(u.data).equals(Buffer.from(t.data)), name).toBe(true);
  }
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as [string, Buffer])));
}

describe('HF folder round trip', () => {
  const tokenizer = charTokenizer('0123456789+= abc\n');

  it('plain Llama (F32): every tensor, config, tokenizer and generation config survive; re-save is byte-identical', async () => {
    const config = tinyConfig();
    const weights = randomWeights(config, 'F32', 7);
    const dir = join(root, 'llama');
    await saveHfFolder(dir, { config, weights, tokenizer, generationConfig: { eosTokenId: 2, maxNewTokens: 16 } });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const loaded = await loadHfFolder(dir);
    expect(loaded.config).toEqual(config);
    expectSameTensors(weights, loaded.weights);
    expect(loaded.tokenizer!.encode('12+3=15')).toEqual(tokenizer.encode('12+3=15'));
    expect(loaded.generationConfig).toMatchObject({ eosTokenId: 2, maxNewTokens: 16 });
    expect(loaded.raw.config.torch_dtype).toBe('float32');

    const again = join(root, 'llama-again');
    await saveHfFolder(again, {
      config: loaded.config,
      weights: loaded.weights,
      tokenizer: loaded.tokenizer,
      generationConfig: loaded.generationConfig,
      layout: loaded.layout,
      rawConfig: loaded.raw.config,
    });
    expect(await filesOf(again)).toEqual(await filesOf(dir));
  });

  it('sharded BF16 Llama: index + shards written, loaded, and re-saved to the same files', async () => {
    const config = tinyConfig({ tieWordEmbeddings: false });
    const weights = randomWeights(config, 'BF16', 11);
    const dir = join(root, 'sharded');
    await saveHfFolder(dir, { config, weights, tokenizer, maxShardBytes: 3000 });
    const names = await readdir(dir);
    const shards = names.filter((n) => n.endsWith('.safetensors')).sort();
    expect(shards.length).toBeGreaterThanOrEqual(3);
    expect(shards[0]).toBe(`model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    expect(names).toContain('model.safetensors.index.json');
    const loaded = await loadHfFolder(dir);
    expect(loaded.layout.sharded).toBe(true);
    expect(loaded.raw.config.torch_dtype).toBe('bfloat16');
    expectSameTensors(weights, loaded.weights);
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe([...weights.values()].reduce((s, t) => s + t.data.length, 0));

    const again = join(root, 'sharded-again');
    await saveHfFolder(again, { config: loaded.config, weights: loaded.weights, tokenizer: loaded.tokenizer, layout: loaded.layout, rawConfig: loaded.raw.config });
    expect(await filesOf(again)).toEqual(await filesOf(dir));
  });

  it('Qwen2-style (qkv bias, tied embeddings, F16): no lm_head on disk, biases kept exactly', async () => {
    const config = tinyConfig({ modelType: 'qwen2', attentionBias: true, tieWordEmbeddings: true });
    const weights = randomWeights(config, 'F16', 3);
    expect(weights.has('lm_head.weight')).toBe(false);
    expect(weights.has('model.layers.1.self_attn.v_proj.bias')).toBe(true);
    const dir = join(root, 'qwen2');
    await saveHfFolder(dir, { config, weights });
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true, torch_dtype: 'float16' });
    const loaded = await loadHfFolder(dir);
    expect(loaded.config).toEqual(config);
    expect(loaded.tokenizer).toBeNull();
    expectSameTensors(weights, loaded.weights);
  });

  it('a folder from another writer (other tensor order, unpadded header, extra config fields) keeps tensor bytes', async () => {
    const config = tinyConfig();
    const weights = randomWeights(config, 'BF16', 5);
    const reversed = new Map([...weights].reverse());
    const dir = join(root, 'foreign');
    await mkdir(dir);
    // Hand-built like another writer: no header padding, tensors in reverse order.
    let offset = 0;
    const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    for (const [name, t] of reversed) header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, (offset += t.data.length)] };
    let json = Buffer.from(JSON.stringify(header));
    if (json.length % 8 === 0) json = Buffer.concat([json, Buffer.from(' ')]);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const file = Buffer.concat([prefix, json, ...[...reversed.values()].map((t) => Buffer.from(t.data))]);
    await writeFile(join(dir, 'model.safetensors'), file);
    const rawConfig = { model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 24, hidden_size: 16, intermediate_size: 32,
      num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000,
      bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, initializer_range: 0.02, transformers_version: '4.46.0' };
    await writeFile(join(dir, 'config.json'), JSON.stringify(rawConfig));
    const loaded = await loadHfFolder(dir);
    const out = join(root, 'foreign-saved');
    await saveHfFolder(out, { config: loaded.config, weights: loaded.weights, layout: loaded.layout, rawConfig: loaded.raw.config });
    const saved = await readFile(join(out, 'model.safetensors'));
    expect(saved.equals(file)).toBe(false); // our writer pads the header to 8 bytes
    expect(saved.subarray(saved.length - offset).equals(file.subarray(file.length - offset))).toBe(true); // same data buffer
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ initializer_range: 0.02, transformers_version: '4.46.0' });
    expectSameTensors(weights, (await loadHfFolder(out)).weights);
  });
});

describe('malformed folders: clear errors', () => {
  it('names what is missing or wrong', async () => {
    const config = tinyConfig();
    const weights = randomWeights(config, 'F32', 9);
    await expect(loadHfFolder(join(root, 'nope'))).rejects.toThrow(/no config.json/);
    const dir = join(root, 'bad');
    await saveHfFolder(dir, { config, weights, maxShardBytes: 4000 });
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const shard = (await readdir(dir)).filter((n) => n.endsWith('.safetensors')).sort()[0];
    expect(shard).toMatch(/^model-00001-of-0000[2-9]\.safetensors$/);
    const bytes = await readFile(join(dir, shard));
    await writeFile(join(dir, shard), bytes.subarray(0, bytes.length - 10));
    await expect(loadHfFolder(dir)).rejects.toThrow(new RegExp(`${shard}: safetensors truncated`));
    await writeFile(join(dir, shard), bytes);
    index.weight_map['model.extra.weight'] = shard;
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await expect(loadHfFolder(dir)).rejects.toThrow(/tensor 'model.extra.weight' listed in model.safetensors.index.json is missing/);
    await rm(join(dir, 'model.safetensors.index.json'));
    await expect(loadHfFolder(dir)).rejects.toThrow(/no model.safetensors or model.safetensors.index.json/);

    const wrong = join(root, 'wrong-shapes');
    const w2 = new Map(weights);
    w2.delete('model.norm.weight');
    await saveHfFolder(wrong, { config, weights: w2 });
    await expect(loadHfFolder(wrong)).rejects.toThrow(/missing 1 tensor\(s\): model.norm.weight/);
    expect((await loadHfFolder(wrong, { checkWeights: false })).weights.size).toBe(weights.size - 1);
  });
});

describe('atomic saves', () => {
  const config = tinyConfig();
  const weights = randomWeights(config, 'F32', 1);

  it('replaces an existing model folder whole and leaves no temporary folders', async () => {
    const dir = join(root, 'atomic', 'model');
    await saveHfFolder(dir, { config, weights, extraFiles: { 'stale.txt': 'old' } });
    await saveHfFolder(dir, { config, weights: randomWeights(config, 'F32', 2) });
    expect(await readdir(dir)).not.toContain('stale.txt');
    expectSameTensors(randomWeights(config, 'F32', 2), (await loadHfFolder(dir)).weights);
    expect(await readdir(join(root, 'atomic'))).toEqual(['model']);
  });

  it('a save that fails part-way leaves the old folder untouched and no temporary files', async () => {
    const dir = join(root, 'atomic2', 'model');
    await saveHfFolder(dir, { config, weights });
    const before = await filesOf(dir);
    const bad = { 'zz-last.bin': 42 as unknown as string };
    await expect(saveHfFolder(dir, { config, weights: randomWeights(config, 'F32', 3), extraFiles: bad })).rejects.toThrow(/nothing was replaced/);
    expect(await filesOf(dir)).toEqual(before);
    expect(await readdir(join(root, 'atomic2'))).toEqual(['model']);
  });

  // a SIGKILL between the two renames of a replacement leaves `.model.old-TAG` (and the complete `.model.tmp-TAG`)
  // and no `model`: the next load (or save) finishes the swap, or moves the old folder back when the new one is gone
  it('a save killed between its two renames is recovered on the next load: new folder when complete, else the old one', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    for (const withTmp of [true, false]) {
      const parent = join(root, `killed-${withTmp}`);
      const dir = join(parent, 'model');
      await saveHfFolder(dir, { config, weights });
      if (withTmp) await saveHfFolder(join(root, 'next'), { config, weights: randomWeights(config, 'F32', 5) });
      await rename(dir, join(parent, `.model.old-${deadPid}-abcd1234`));
      if (withTmp) await rename(join(root, 'next'), join(parent, `.model.tmp-${deadPid}-abcd1234`));
      await cp(join(parent, `.model.old-${deadPid}-abcd1234`), join(parent, `.model.tmp-${deadPid}-feedf00d`), { recursive: true }); // an unfinished write
      await expect(readdir(parent)).resolves.not.toContain('model');
      expectSameTensors(withTmp ? randomWeights(config, 'F32', 5) : weights, (await loadHfFolder(dir)).weights);
      expect(await readdir(parent)).toEqual(['model']);
    }
  });

  it('refuses to replace a non-empty folder that is not a model folder', async () => {
    const dir = join(root, 'home');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    await expect(saveHfFolder(dir, { config, weights })).rejects.toThrow(/refusing to replace a non-empty folder/);
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });
});

describe('inspectHfFolder', () => {
  it('reports architecture, parameters, dtypes and sizes from headers only', async () => {
    const { inspectHfFolder } = await import('./inspect-hf-folder.ts');
    const config = tinyConfig({ modelType: 'qwen2', attentionBias: true, tieWordEmbeddings: true });
    const weights = randomWeights(config, 'BF16', 4);
    const dir = join(root, 'inspect');
    await saveHfFolder(dir, { config, weights, tokenizer: charTokenizer('abc'), maxShardBytes: 2000 });
    const info = await inspectHfFolder(dir);
    const params = [...weights.values()].reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(info).toMatchObject({ architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', parameters: params, tensors: weights.size, sharded: true });
    expect(info.dtypes).toEqual({ BF16: { tensors: weights.size, parameters: params, bytes: 2 * params } });
    const names = await readdir(dir);
    const total = (await Promise.all(names.map((n) => readFile(join(dir, n))))).reduce((s, b) => s + b.length, 0);
    expect(info.sizeOnDisk).toBe(total);
    expect(info.weightCheck).toEqual({ missing: [], unexpected: [], mismatched: [] });
    expect(info.tokenizer).toMatchObject({ model: 'BPE', vocabSize: 7, hasChatTemplate: true, eosTokenId: 2 });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), model_type: 'gemma' }));
    const other = await inspectHfFolder(dir);
    expect(other.config).toBeNull();
    expect(other.configError).toMatch(/model_type must be 'llama' or 'qwen2', got "gemma"/);
    expect(other.parameters).toBe(params);
  });
});

describe('readSafetensorsFile', () => {
  it('reads tensors in chunks with the same result as the in-memory parser', async () => {
    const { readSafetensorsFile } = await import('./safetensors-file.ts');
    const { parseSafetensors } = await import('@tuneloop/model');
    const dir = join(root, 'chunks');
    await saveHfFolder(dir, { config: tinyConfig(), weights: randomWeights(tinyConfig(), 'BF16', 8) });
    const bytes = new Uint8Array(await readFile(join(dir, 'model.safetensors')));
    const small = await readSafetensorsFile(join(dir, 'model.safetensors'), { chunkBytes: 7 });
    expectSameTensors(parseSafetensors(bytes).tensors, small.tensors);
    expect(small.metadata).toEqual({ format: 'pt' });
  });
});
