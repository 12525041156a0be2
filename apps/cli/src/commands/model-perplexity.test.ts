// `tuneloop model perplexity`: window plan properties, and the CLI end to end against log-probs
// computed independently from the model's forward pass.
import { describe, expect, it } from 'vitest';
import { planWindows } from './model-perplexity.ts';

describe('planWindows', () => {
  it('scores every token after the first exactly once, in windows of <= window tokens with >= window - stride context', () => {
    for (const [n, window, stride] of [[2, 2, 1], [10, 16, 8], [16, 16, 8], [17, 16, 8], [100, 16, 5], [37, 8, 7], [50, 3, 1]]) {
      const ws = planWindows(n, window, stride);
      const scored: number[] = [];
      for (const [i, w] of ws.entries()) {
        expect(w.end - w.begin).toBeLessThanOrEqual(window);
        expect(w.scoreFrom).toBeGreaterThan(w.begin);
        if (i > 0) expect(w.scoreFrom - w.begin).toBe(window - stride);
        for (let p = w.scoreFrom; p < w.end; p++) scored.push(p);
      }
      expect(scored).toEqual(Array.from({ length: n - 1 }, (_, k) => k + 1));
    }
    expect(planWindows(17, 16, 8)).toEqual([
      { begin: 0, end: 16, scoreFrom: 1 },
      { begin: 8, end: 17, scoreFrom: 16 },
    ]);
  });
  it('rejects windows and strides that cannot give every token context', () => {
    expect(() => planWindows(10, 1, 1)).toThrow('window: must be an integer >= 2, got 1');
    expect(() => planWindows(10, 8, 8)).toThrow('stride: must be an integer in [1, 7] (window - 1), got 8');
  });
});

describe('tuneloop model perplexity', () => {
  it('prints tokens, nll, perplexity and per-token log-probs that match the forward pass, chunked or not', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const tf = await import('@tensorflow/tfjs-core');
    const { initBackend } = await import('@tuneloop/engine');
    const { charTokenizer, tensorsFromRaw, CausalLM } = await import('@tuneloop/model');
    const { saveHfFolder, loadHfFolder } = await import('@tuneloop/files');
    const { runCli } = await import('../test-run.ts');
    await initBackend({ backend: 'cpu' });

    const dir = await mkdtemp(join(tmpdir(), 'tuneloop-ppl-'));
    try {
      const tokenizer = charTokenizer('0123456789+= \n');
      const config = {
        modelType: 'llama' as const, vocabSize: tokenizer.vocabSize, hiddenSize: 16, intermediateSize: 24, numHiddenLayers: 2,
        numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 8, rmsNormEps: 1e-5, ropeTheta: 10000,
        ropeScaling: null, attentionBias: false, tieWordEmbeddings: true,
      };
      const { expectedWeightShapes, fromFloat32, numElements } = await import('@tuneloop/model');
      let s = 3;
      const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.8;
      const weights = new Map(
        [...expectedWeightShapes(config)].map(([n, shape]) => [n, fromFloat32(Float32Array.from({ length: numElements(shape) }, () => (n.includes('norm') ? 1 : rand())), 'F32', shape)]),
      );
      await saveHfFolder(join(dir, 'm'), { config, weights, tokenizer });
      const text = '12+34=46\n7+8=15\n';
      await writeFile(join(dir, 'text.txt'), text);

      const run = (args: string[]) => runCli(['model', 'perplexity', ...args]);
      const r = await run(['--model', join(dir, 'm'), '--text-file', join(dir, 'text.txt'), '--json', '--stride', '3']);
      expect(r.code, r.err).toBe(0);
      const res = JSON.parse(r.out);
      expect(Object.keys(res)).toEqual(['tokens', 'nll', 'perplexity', 'tokenLogprobs']);
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      expect(res.tokens).toBe(ids.length);
      expect(res.tokenLogprobs).toHaveLength(ids.length - 1);
      expect(r.err).toContain(`16 tokens > window 8: ${planWindows(16, 8, 3).length} overlapping windows, stride 3`);

      // Independent reference: each token p scored with the window plan's context, by a plain forward pass.
      const tensors = tensorsFromRaw((await loadHfFolder(join(dir, 'm'))).weights);
      const model = new CausalLM(config, tensors);
      tf.dispose([...tensors.values()]);
      for (const w of planWindows(ids.length, 8, 3)) {
        for (let p = w.scoreFrom; p < w.end; p++) {
          const ref = tf.tidy(() => {
            const logits = model.forward({ inputIds: [ids.slice(w.begin, p)] }); // [1, p - begin, V]
            const last = tf.reshape(tf.slice(logits, [0, p - w.begin - 1, 0], [1, 1, config.vocabSize]), [config.vocabSize]); // [V]
            return tf.logSoftmax(last).dataSync()[ids[p]];
          });
          expect(res.tokenLogprobs[p - 1]).toBeCloseTo(ref, 4);
        }
      }
      model.dispose();
      const nll = -res.tokenLogprobs.reduce((a: number, b: number) => a + b, 0) / res.tokenLogprobs.length;
      expect(res.nll).toBeCloseTo(nll, 10);
      expect(res.perplexity).toBeCloseTo(Math.exp(nll), 8);

      const human = await run(['--model', join(dir, 'm'), '--text-file', join(dir, 'text.txt')]);
      expect(human.out).toMatch(/^tokens +16\nnll +[0-9.]+\nperplexity +[0-9.]+\n$/);
      const missing = await run(['--model', join(dir, 'm'), '--text-file', join(dir, 'nope.txt')]);
      expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/--text-file: cannot read .*nope.txt: ENOENT/)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
