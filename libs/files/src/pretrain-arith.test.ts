// The cached base model's location and the pretrain entry point's input checks (training itself is
// exercised end to end by apps/cli's pretrain test).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBaseModelDir, pretrainArithToFolder } from './index.ts';

describe('pretrainArithToFolder / defaultBaseModelDir', () => {
  it('puts the base model under TUNELOOP_HOME, else ./.tuneloop', () => {
    expect(defaultBaseModelDir({ TUNELOOP_HOME: '/srv/tl' })).toBe('/srv/tl/models/tiny-arith');
    expect(defaultBaseModelDir({})).toBe(path.resolve('.tuneloop', 'models', 'tiny-arith'));
  });

  it('refuses bad steps and seeds naming the field, before training', async () => {
    await expect(pretrainArithToFolder({ out: '/nonexistent/x', steps: 0 })).rejects.toThrow('steps: must be an integer >= 1, got 0');
    await expect(pretrainArithToFolder({ out: '/nonexistent/x', seed: 1.5 })).rejects.toThrow('seed: must be an integer, got 1.5');
  });
});
