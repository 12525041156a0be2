// Reward-model verifier: scores completions with the reward-model service's Score RPC through an
// injected function, so this library stays free of I/O; one call per group of completions.
import { VerifierConfigError, type Verifier } from './types.ts';

/** Scores the responses to one prompt, in order (the reward-model Score RPC). */
export type ScoreRpc = (prompt: string, completions: string[]) => Promise<number[]>;

/**
 * @example
 * const v = rewardModel({ score: (prompt, completions) => client.score({ prompt, responses: completions }).then((r) => r.scores) });
 * await v.scoreGroup('Write a haiku', ['...', '...']); // e.g. [0.7, -0.2]
 */
export function rewardModel(options: { score: ScoreRpc }): Verifier {
  const rpc = options?.score;
  if (typeof rpc !== 'function') {
    throw new VerifierConfigError('score', 'the reward_model verifier needs a score(prompt, completions) function (the Score RPC client)');
  }
  const scoreGroup = async (prompt: string, completions: readonly string[]): Promise<number[]> => {
    if (completions.length === 0) return [];
    const scores = await rpc(prompt, [...completions]);
    if (!Array.isArray(scores) || scores.length !== completions.length || scores.some((s) => typeof s !== 'number' || !Number.isFinite(s))) {
      throw new Error(`reward model: expected ${completions.length} finite scores, got ${JSON.stringify(scores)?.slice(0, 200)}`);
    }
    return scores;
  };
  return {
    name: 'reward_model',
    score: async (p, c) => (await scoreGroup(p, [c]))[0],
    scoreGroup,
  };
}
