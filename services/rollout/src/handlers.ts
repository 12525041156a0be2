// RolloutService handlers: Generate streams one prompt's completions token by token; GenerateGroups samples G
// completions per prompt and scores them; both run on the worker pool (jobs.rollout.generate). Verify scores
// completions with a verifier spec. Requests are validated once, here; every bad field is INVALID_ARGUMENT
// naming it and the limit.
import type { Bus } from '@tuneloop/bus';
import type { ModelConfig, Tokenizer } from '@tuneloop/model';
import {
  FinishReason,
  type GenerateGroupsRequest,
  type GenerateGroupsResponse,
  type GenerateRequest,
  type GenerateResponse,
  type ModelStoreServiceClient,
  type RewardModelServiceClient,
  type SamplingParams,
  type VerifyRequest,
  type VerifyResponse,
} from '@tuneloop/proto';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError, type CallContext } from '@tuneloop/service-kit';
import { dispatchGroups, RolloutBatchError } from './dispatcher.ts';
import { policyKey, pullShape, readShape, resolvePolicy, type PolicySpec } from './policy.ts';
import { StreamError, streamGenerate } from './stream.ts';
import { verifierOf } from './verifier-spec.ts';

/** Request limits (INVALID_ARGUMENT beyond them). */
export const LIMITS = {
  maxNewTokens: 1024, // and prompt + max_new_tokens <= the model's context length
  maxTemperature: 100,
  maxStop: 4,
  maxStopChars: 64,
  maxN: 16, // Generate completions
  minGroupSize: 2, // GRPO compares the samples of a group
  maxGroupSize: 64,
  maxPrompts: 1024,
  maxSequences: 4096, // prompts x group_size
  maxItems: 4096, // Verify
} as const;

const FINISH = { eos: FinishReason.STOP, stop: FinishReason.STOP_STRING, length: FinishReason.LENGTH } as const;

export interface Sampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stop: string[];
}

/** Sampling parameters with defaults (absent message: temperature 1; 0 / unset: max_new_tokens 16, top_p 1). */
export function checkSampling(s: SamplingParams | undefined, config: ModelConfig): Sampling {
  const maxNewTokens = s?.maxNewTokens || 16;
  const temperature = s ? s.temperature : 1;
  const topP = s?.topP || 1;
  const topK = s?.topK ?? 0;
  const stop = s?.stop ?? [];
  const limit = Math.min(LIMITS.maxNewTokens, config.maxPositionEmbeddings - 1);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > limit) throw new InvalidArgumentError('sampling.max_new_tokens', `must be in [1, ${limit}], got ${maxNewTokens}`);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > LIMITS.maxTemperature) throw new InvalidArgumentError('sampling.temperature', `must be in [0, ${LIMITS.maxTemperature}] (0 = greedy), got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new InvalidArgumentError('sampling.top_p', `must be in (0, 1], got ${topP}`);
  if (!Number.isInteger(topK) || topK < 0 || topK > config.vocabSize) throw new InvalidArgumentError('sampling.top_k', `must be in [0, ${config.vocabSize}] (0 = off), got ${topK}`);
  if (stop.length > LIMITS.maxStop) throw new InvalidArgumentError('sampling.stop', `at most ${LIMITS.maxStop} stop strings, got ${stop.length}`);
  stop.forEach((x, i) => {
    if (x.length === 0 || x.length > LIMITS.maxStopChars) throw new InvalidArgumentError(`sampling.stop[${i}]`, `must be 1 to ${LIMITS.maxStopChars} characters, got ${x.length}`);
  });
  return { maxNewTokens, temperature, topK, topP, seed: s?.seed ?? 0, stop };
}

/** Prompt token ids (<bos>? + text), checked against the context length; `field` names the prompt in errors. */
export function encodeChecked(tok: Tokenizer, config: ModelConfig, text: string, maxNewTokens: number, field: string, special = true): number[] {
  if (text.length === 0) throw new InvalidArgumentError(field, 'must be a non-empty string');
  const ids = [...(special && tok.bosTokenId !== undefined ? [tok.bosTokenId] : []), ...tok.encode(text, { addSpecialTokens: false })];
  const ctx = config.maxPositionEmbeddings;
  if (ids.length > ctx) throw new InvalidArgumentError(field, `${ids.length} tokens > context length ${ctx}`);
  if (ids.length + maxNewTokens > ctx) throw new InvalidArgumentError(field, `${ids.length} tokens + max_new_tokens ${maxNewTokens} > context length ${ctx}`);
  return ids;
}

export interface HandlerOptions {
  storeClient: () => ModelStoreServiceClient;
  rewardModelClient: () => RewardModelServiceClient; // for reward-model verifiers
  passThreshold?: number; // Verify: passed = score >= this; default 1
  streamIdleTimeoutMs?: number;
}

export function rolloutHandlers(bus: Bus, home: string, o: HandlerOptions) {
  const passThreshold = o.passThreshold ?? 1;
  const shapes = new Map<string, Promise<{ tokenizer: Tokenizer; config: ModelConfig }>>();
  const shapeOf = (p: PolicySpec) => {
    const key = policyKey(p);
    let hit = shapes.get(key);
    if (!hit) {
      hit = p.kind === 'folder' ? readShape(p.modelDir) : (async () => {
        const c = o.storeClient();
        try {
          return readShape(await pullShape(home, p, c));
        } finally {
          c.close();
        }
      })();
      shapes.set(key, hit);
      hit.catch(() => shapes.delete(key));
    }
    return hit;
  };
  const policyOf = (req: { policy?: GenerateRequest['policy'] }) => resolvePolicy(home, req.policy, o.storeClient);

  return {
    async verify(req: VerifyRequest): Promise<VerifyResponse> {
      const v = verifierOf(req, o.rewardModelClient);
      if (req.items.length === 0) throw new InvalidArgumentError('items', 'must hold at least 1 item');
      if (req.items.length > LIMITS.maxItems) throw new InvalidArgumentError('items', `at most ${LIMITS.maxItems} items, got ${req.items.length}`);
      const results = [];
      for (const [i, it] of req.items.entries()) {
        if (!it.prompt && !it.completion) throw new InvalidArgumentError(`items[${i}]`, `needs a prompt or a completion`);
        const s = await v.score(it.prompt, it.completion, it.reference || undefined);
        results.push({ score: s ?? 0, passed: s !== null && s >= passThreshold, detail: s === null ? 'not applicable (no reference)' : '' });
      }
      return { results };
    },

    async *generate(req: GenerateRequest, ctx: CallContext): AsyncGenerator<GenerateResponse> {
      const n = req.n || 1;
      if (!Number.isInteger(n) || n < 1 || n > LIMITS.maxN) throw new InvalidArgumentError('n', `must be in [1, ${LIMITS.maxN}], got ${n}`);
      if (!req.input) throw new InvalidArgumentError('input', 'give a prompt or messages');
      const policy = await policyOf(req);
      const { tokenizer, config } = await shapeOf(policy);
      const s = checkSampling(req.sampling, config);
      let promptIds: number[];
      if (req.input.$case === 'prompt') {
        promptIds = encodeChecked(tokenizer, config, req.input.value, s.maxNewTokens, 'prompt');
      } else {
        const messages = req.input.value.messages;
        if (messages.length === 0) throw new InvalidArgumentError('messages', 'must hold at least 1 message');
        messages.forEach((m, i) => {
          if (!['system', 'user', 'assistant'].includes(m.role)) throw new InvalidArgumentError(`messages[${i}].role`, `must be system, user or assistant, got ${JSON.stringify(m.role)}`);
        });
        let text: string;
        try {
          text = tokenizer.applyChatTemplate(messages.map((m) => ({ role: m.role, content: m.content })), { addGenerationPrompt: true });
        } catch (err) {
          throw new InvalidArgumentError('messages', (err as Error).message);
        }
        promptIds = encodeChecked(tokenizer, config, text, s.maxNewTokens, 'messages', false);
      }
      try {
        for await (const e of streamGenerate(bus, { policy, promptIds, n, maxNewTokens: s.maxNewTokens, temperature: s.temperature, topK: s.topK, topP: s.topP, seed: s.seed, stop: s.stop }, { signal: ctx.signal, idleTimeoutMs: o.streamIdleTimeoutMs })) {
          yield {
            index: e.index, textDelta: e.textDelta, tokenIds: [e.token], logprob: e.logprob, tokenLogprobs: [e.logprob],
            finishReason: e.finishReason ? FINISH[e.finishReason] : FinishReason.UNSPECIFIED,
          };
        }
      } catch (err) {
        if (err instanceof StreamError) throw err.kind === 'worker' ? new FailedPreconditionError(`generation failed on the worker: ${err.message}`) : new UnavailableError(`generation failed: ${err.message}`);
        throw err;
      }
    },

    async generateGroups(req: GenerateGroupsRequest, ctx: CallContext): Promise<GenerateGroupsResponse> {
      const g = req.groupSize;
      if (!Number.isInteger(g) || g < LIMITS.minGroupSize || g > LIMITS.maxGroupSize) {
        throw new InvalidArgumentError('group_size', `must be in [${LIMITS.minGroupSize}, ${LIMITS.maxGroupSize}] (a GRPO group compares at least 2 samples), got ${g}`);
      }
      if (req.prompts.length === 0) throw new InvalidArgumentError('prompts', 'must hold at least 1 prompt');
      if (req.prompts.length > LIMITS.maxPrompts) throw new InvalidArgumentError('prompts', `at most ${LIMITS.maxPrompts} prompts, got ${req.prompts.length}`);
      if (req.prompts.length * g > LIMITS.maxSequences) throw new InvalidArgumentError('group_size', `prompts x group_size must be <= ${LIMITS.maxSequences}, got ${req.prompts.length} x ${g}`);
      const verifier = verifierOf(req, o.rewardModelClient);
      const policy = await policyOf(req);
      const { tokenizer, config } = await shapeOf(policy);
      const s = checkSampling(req.sampling, config);
      req.prompts.forEach((p, i) => encodeChecked(tokenizer, config, p.prompt, s.maxNewTokens, `prompts[${i}].prompt`));
      const timeoutMs = ctx.deadline ? Math.max(1000, ctx.deadline.getTime() - Date.now()) : undefined;
      const res = await dispatchGroups(bus, {
        policy, prompts: req.prompts.map((p) => ({ prompt: p.prompt, reference: p.reference || undefined })), groupSize: g,
        maxNewTokens: s.maxNewTokens, temperature: s.temperature, topK: s.topK, topP: s.topP, seed: s.seed, stop: s.stop, signal: ctx.signal, timeoutMs,
      }).catch((err: unknown) => {
        if (err instanceof RolloutBatchError) throw new FailedPreconditionError(err.message);
        throw err;
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
