// `tuneloop peft plan` end to end through the CLI entry point: --shape, --config, --model DIR, --json, errors.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-run.ts';

const fixture = fileURLToPath(new URL('../../../../libs/peft/src/plan/fixtures/llama-2-7b-config.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tuneloop-peft-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tuneloop peft plan', () => {
  it('one 4096 x 4096 matrix at r 8 trains 65,536 parameters', async () => {
    const r = await run(['peft', 'plan', '--shape', '4096x4096', '--method', 'lora', '--rank', '8', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.trainable).toBe(65_536);
    expect(j.total).toBe(16_777_216 + 65_536);
    expect(j.percent).toBeCloseTo((100 * 65_536) / 16_842_752, 10);
  });

  it('plans Llama-2-7B from a config.json alone, or from a model folder holding only config.json', async () => {
    const a = JSON.parse((await run(['peft', 'plan', '--config', fixture, '--method', 'lora', '--rank', '8', '--targets', 'q_proj,v_proj', '--json'])).out);
    expect([a.trainable, a.total]).toEqual([4_194_304, 6_742_609_920]);
    expect(a.optimizerMemory.totalBytes).toBe(12 * 4_194_304);
    expect(a.modules.find((m: { module: string }) => m.module === 'model.layers.31.self_attn.v_proj').trainable).toBe(65_536);
    copyFileSync(fixture, join(dir, 'config.json'));
    const b = JSON.parse((await run(['peft', 'plan', '--model', dir, '--method', 'vera', '--rank', '256', '--json'])).out);
    expect(b.trainable).toBe(32 * 2 * (256 + 4096));
    const human = await run(['peft', 'plan', '--model', dir, '--method', 'lora', '--rank', '8']);
    expect(human.out).toContain('trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622');
    expect(human.out).toMatch(/optimizer memory \(AdamW, fp32\): 48\.0 MiB/);
    const rows = await run(['peft', 'plan', '--model', dir, '--method', 'lora', '--rank', '8', '--per-module']);
    expect(rows.out).toMatch(/model\.layers\.31\.self_attn\.v_proj\s+1\s+65,536\s+16,842,752\s+0\.3891/);
  });

  it('takes the method config as a JSON file with PEFT field names', async () => {
    const cfg = join(dir, 'adalora.json');
    (await import('node:fs')).writeFileSync(cfg, JSON.stringify({ init_r: 16, target_r: 4, total_step: 100, target_modules: ['q_proj', 'k_proj', 'v_proj'] }));
    const r = JSON.parse((await run(['peft', 'plan', '--config', fixture, '--method', 'adalora', '--method-config', cfg, '--json'])).out);
    expect(r.trainable).toBe(32 * 3 * 16 * (4096 + 4096 + 1));
    const bad = join(dir, 'bad.json');
    (await import('node:fs')).writeFileSync(bad, JSON.stringify({ init_r: 16, total_step: 0 }));
    const e = await run(['peft', 'plan', '--config', fixture, '--method', 'adalora', '--method-config', bad]);
    expect(e.code).not.toBe(0);
    expect(e.err).toMatch(/total_step: must be an integer >= 1, got 0/);
  });

  it('fails with a one-line reason naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['--shape', '4096x4096', '--method', 'lora', '--rank', '0'], /--rank: must be an integer >= 1, got 0/],
      [['--config', fixture, '--method', 'loraa'], /unknown PEFT method 'loraa'/],
      [['--config', fixture, '--method', 'lora', '--targets', 'qkv_proj'], /target_modules: 'qkv_proj' is not a linear module/],
      [['--config', join(dir, 'missing.json'), '--method', 'lora'], /--config: no such file/],
      [['--method', 'lora'], /exactly one of --model DIR, --config config.json, --shape OUTxIN/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(['peft', 'plan', ...args]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(msg);
    }
  });
});
