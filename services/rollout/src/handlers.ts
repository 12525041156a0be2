// RolloutService handlers: Verify scores completions with a verifier spec; GenerateGroups samples G completions
// per prompt through the worker pool (jobs.rollout.generate) and scores them. Requests are validated once,
// here, and every bad field is INVALID_ARGUMENT naming it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Bus } from '@tuneloop/bus';
import { FinishReason, type GenerateGroupsRequest, type GenerateGroupsResponse, type VerifyRequest, type VerifyResponse } from '@tuneloop/proto';
import { InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';
import { createVerifier, type Verifier } from '@tuneloop/verifiers';
import type { Tokenizer, ModelConfig } from '@tuneloop/model';
import { dispatchGroups } from './dispatcher.ts';

/** Rethrows a library input error (code 'INVALID_ARGUMENT') as the gRPC error; others pass through. */
function asGrpc<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'INVALID_ARGUMENT') throw new InvalidArgumentError((err as { field?: string }).field ?? 'request', (err as Error).message.replace(/^[^:]*: /, ''));
    throw err;
  }
}

function verifierOf(req: { verifierJson: string; verifier?: unknown }): Verifier {
  if (!req.verifierJson) throw new InvalidArgumentError('verifier_json', 'required (a verifier spec as JSON, e.g. {"type":"numeric"})');
  return asGrpc(() => createVerifier(req.verifierJson, {}));
}

const FINISH = { eos: FinishReason.STOP, stop: FinishReason.STOP_STRING, length: FinishReason.LENGTH } as const;

export function rolloutHandlers(bus: Bus, home: string, passThreshold = 1) {
  const shapes = new Map<string, Promise<{ tokenizer: Tokenizer; config: ModelConfig }>>();
  const shapeOf = (dir: string) => {
    let p = shapes.get(dir);
    if (!p) {
      p = (async () => {
        const { loadHfFolder } = await import('@tuneloop/files');
        const f = await loadHfFolder(dir);
        for (const t of f.weights.values()) (t as { dispose?: () => void }).dispose?.();
        if (!f.tokenizer) throw new InvalidArgumentError(`policy.base.name`, `model folder ${dir} has no tokenizer.json`);
        return { tokenizer: f.tokenizer, config: f.config };
      })();
      shapes.set(dir, p);
      p.catch(() => shapes.delete(dir));
    }
    return p;
  };
  return {
    async verify(req: VerifyRequest): Promise<VerifyResponse> {
      const v = verifierOf(req);
      if (req.items.length === 0) throw new InvalidArgumentError('items', 'must hold at least 1 item');
      const results = [];
      for (const [i, it] of req.items.entries()) {
        if (!it.prompt && !it.completion) throw new InvalidArgumentError(`items[${i}]`, `needs a prompt or a completion`);
        const s = await v.score(it.prompt, it.completion, it.reference || undefined);
        results.push({ score: s ?? 0, passed: s !== null && s >= passThreshold, detail: s === null ? 'not applicable (no reference)' : '' });
      }
      return { results };
    },

    async generateGroups(req: GenerateGroupsRequest): Promise<GenerateGroupsResponse> {
      const name = req.policy?.base?.name;
      if (!name || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new InvalidArgumentError(`policy.base.name`, `must be a model name, got ${JSON.stringify(name ?? '')}`);
      if (!Number.isInteger(req.groupSize) || req.groupSize < 1) throw new InvalidArgumentError(`group_size`, `must be an integer >= 1, got ${req.groupSize}`);
      if (req.prompts.length === 0) throw new InvalidArgumentError('prompts', 'must hold at least 1 prompt');
      const verifier = verifierOf(req);
      const dir = path.join(home, 'models', name);
      if (!existsSync(path.join(dir, 'config.json'))) throw new NotFoundError(`policy.base.name: no model '${name}' under ${path.join(home, 'models')}`);
      const s = req.sampling;
      const maxNewTokens = s?.maxNewTokens || 16;
      const { tokenizer, config } = await shapeOf(dir);
      const { encodePrompts } = await import('@tuneloop/rl');
      asGrpc(() => encodePrompts(tokenizer, config, req.prompts, maxNewTokens));
      const res = await dispatchGroups(bus, {
        modelDir: dir, prompts: req.prompts.map((p) => ({ prompt: p.prompt, reference: p.reference || undefined })), groupSize: req.groupSize,
        maxNewTokens, temperature: s ? s.temperature : 1, topK: s?.topK ?? 0, topP: s?.topP || 1, seed: s?.seed ?? 0,
      });
      const groups = [];
      for (const [p, prompt] of req.prompts.entries()) {
        const cs = res.completions.filter((c) => c.promptIndex === p);
        const rewards = (await verifier.scoreGroup(prompt.prompt, cs.map((c) => c.text), prompt.reference || undefined)).map((r) => r ?? 0);
        const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
        const std = rewards.length > 1 ? Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / (rewards.length - 1)) : 0;
        groups.push({
          prompt: prompt.prompt,
          rewardMean: mean,
          rewardStd: std,
          completions: cs.map((c, k) => ({
            text: c.text, tokenIds: c.tokens, logprob: c.logprobs.reduce((a, b) => a + b, 0), reward: rewards[k],
            finishReason: FINISH[c.finishReason], tokenLogprobs: c.logprobs,
          })),
        });
      }
      return { groups };
    },
  };
}
