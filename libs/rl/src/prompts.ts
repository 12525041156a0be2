// Prompt encoding for rollouts: <bos>? + prompt tokens, with the context-length check every sampler needs
// (prompt tokens + maxNewTokens must fit the model's maxPositionEmbeddings).
import type { ModelConfig, Tokenizer } from '@tuneloop/model';
import { RlInputError } from './errors.ts';

/** A prompt with the reference answer a verifier compares against (optional for reward models). */
export interface RlPrompt {
  prompt: string;
  reference?: string;
}

/** Token ids of each prompt; throws RlInputError naming `${field}[i]` when one does not fit the context. */
export function encodePrompts(
  tok: Tokenizer,
  config: Pick<ModelConfig, 'maxPositionEmbeddings'>,
  prompts: readonly RlPrompt[],
  maxNewTokens: number,
  field = 'prompts',
): number[][] {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new RlInputError(field, 'must hold at least 1 prompt');
  return prompts.map((p, i) => {
    if (typeof p?.prompt !== 'string' || p.prompt.length === 0) throw new RlInputError(`${field}[${i}].prompt`, 'must be a non-empty string');
    const ids = [...(tok.bosTokenId !== undefined ? [tok.bosTokenId] : []), ...tok.encode(p.prompt, { addSpecialTokens: false })];
    const limit = config.maxPositionEmbeddings;
    if (ids.length + maxNewTokens > limit) {
      throw new RlInputError(
        `${field}[${i}]`,
        `prompt of ${ids.length} tokens + maxNewTokens ${maxNewTokens} exceeds the context length ${limit}`,
      );
    }
    return ids;
  });
}
