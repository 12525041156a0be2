// `tuneloop pretrain` and `tuneloop model generate` end to end through the real CLI entry point: a few
// steps of the small setting save a loadable HF folder, a rerun reuses it, and generate matches the library.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-run.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});


describe('tuneloop pretrain / model generate', () => {
  it('saves a Hugging Face folder, reuses it, and generates from it like the library does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tuneloop-pretrain-'));
    dirs.push(dir);
    const out = join(dir, 'tiny');
    const r = await run(['pretrain', '--task', 'arith', '--out', out, '--small', '--steps', '3', '--seed', '5', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ task: 'arith', steps: 3, seed: 5, cached: false });
    expect(s.heldOutCount).toBeGreaterThan(700);
    expect(s.heldOutExactMatch).toBeGreaterThanOrEqual(0);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'pretrain.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).architectures).toEqual(['LlamaForCausalLM']);
    const again = await run(['pretrain', '--task', 'arith', '--out', out, '--small', '--steps', '3', '--seed', '5', '--json']);
    expect(JSON.parse(again.out).cached).toBe(true);

    const g = await run(['model', 'generate', '--model', out, '--prompt', '12+34=', '--temperature', '0', '--max-tokens', '6', '--json']);
    expect(g.code, g.err).toBe(0);
    const res = JSON.parse(g.out);
    expect(res.tokens.length).toBeGreaterThan(0);
    expect(res.logprobs.length).toBe(res.tokens.length);
    const { loadModel } = await import('@tuneloop/files');
    const { generate } = await import('@tuneloop/model');
    const loaded = await loadModel(out);
    const tok = loaded.tokenizer!;
    const lib = generate(loaded.model, [[tok.bosTokenId!, ...tok.encode('12+34=')]], {
      temperature: 0,
      maxNewTokens: 6,
      eosTokenIds: [tok.eosTokenId!],
    })[0];
    loaded.model.dispose();
    expect(res.tokens).toEqual(lib.tokens);

    const bad = await run(['pretrain', '--task', 'poetry', '--out', out]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("--task: must be 'arith', got 'poetry'");
    const badT = await run(['model', 'generate', '--model', out, '--prompt', 'x', '--temperature', 'hot']);
    expect(badT.err).toContain("--temperature: must be a number, got 'hot'");
  });
});
