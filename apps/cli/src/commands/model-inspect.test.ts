// `tuneloop model inspect` end to end: a folder saved by @tuneloop/files, the real CLI entry point.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '@tuneloop/model';
import { runCli as run } from '../test-run.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});


describe('tuneloop model inspect', () => {
  it('reports architecture, parameters, dtypes and size as JSON and as a table', async () => {
    const { byteTokenizer, fromFloat32, expectedWeightShapes, numElements } = await import('@tuneloop/model');
    const { saveHfFolder } = await import('@tuneloop/files');
    const dir = await mkdtemp(join(tmpdir(), 'tuneloop-inspect-'));
    dirs.push(dir);
    const config: ModelConfig = {
      modelType: 'llama', vocabSize: 260, hiddenSize: 16, intermediateSize: 40, numHiddenLayers: 2, numAttentionHeads: 4,
      numKeyValueHeads: 2, maxPositionEmbeddings: 32, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: null,
      attentionBias: false, tieWordEmbeddings: false,
    };
    const weights = new Map([...expectedWeightShapes(config)].map(([n, s]) => [n, fromFloat32(new Float32Array(numElements(s)).fill(0.5), 'F16', s)]));
    const params = [...expectedWeightShapes(config).values()].reduce((a, s) => a + numElements(s), 0);
    await saveHfFolder(join(dir, 'm'), { config, weights, tokenizer: byteTokenizer() });

    const json = await run(['model', 'inspect', '--model', join(dir, 'm'), '--json']);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.out);
    expect(r).toMatchObject({ architecture: 'LlamaForCausalLM', parameters: params, dtypes: { F16: { parameters: params, bytes: 2 * params } } });
    expect(r.sizeOnDisk).toBeGreaterThan(2 * params);

    const human = await run(['model', 'inspect', '--model', join(dir, 'm')]);
    expect(human.out).toMatch(/architecture\s+LlamaForCausalLM \(llama\)/);
    expect(human.out).toMatch(new RegExp(`parameters\\s+[0-9.]+ K \\(${params}\\)`));
    expect(human.out).toMatch(/weights\s+match config.json/);

    const missing = await run(['model', 'inspect', '--model', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/no config.json/);
  });
});
