// A simulated annotator: labels a response pair by the task's ground truth, flipping the label with a
// configurable probability (noise), seeded. Its output is TRL's {prompt, chosen, rejected} plus a strength.
import { createRng } from '@tuneloop/engine';
import { groundTruthScore, type GroundTruthPair } from './task.ts';

/** One labelled preference pair (TRL's standard format) and what the annotator knows about it. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  /** Annotation strength: the ground-truth score gap (a Bradley-Terry margin, as Llama 2 uses its rating gap). */
  margin?: number;
  /** True when the annotator's label disagrees with the ground truth (known only for simulated labels). */
  flipped?: boolean;
}

export interface AnnotatorOptions {
  seed: number;
  noise: number; // probability in [0, 0.5] of preferring the worse response
  score?: (prompt: string, response: string) => number; // the ground truth; default groundTruthScore
}

export interface SimulatedAnnotator {
  readonly noise: number;
  /** Labels a pair of responses (either order); a tie is labelled by a fair coin. */
  label(prompt: string, a: string, b: string): PreferencePair;
  /** Labels ground-truth pairs, in order. */
  labelAll(pairs: GroundTruthPair[]): PreferencePair[];
}

export function simulatedAnnotator(opts: AnnotatorOptions): SimulatedAnnotator {
  if (!(opts.noise >= 0 && opts.noise <= 0.5)) throw new Error(`noise: must be in [0, 0.5], got ${opts.noise}`);
  const rng = createRng(opts.seed);
  const score = opts.score ?? groundTruthScore;
  const label = (prompt: string, a: string, b: string): PreferencePair => {
    const sa = score(prompt, a);
    const sb = score(prompt, b);
    const aBetter = sa === sb ? rng.next() < 0.5 : sa > sb;
    const flipped = rng.next() < opts.noise;
    const aChosen = aBetter !== flipped;
    return { prompt, chosen: aChosen ? a : b, rejected: aChosen ? b : a, margin: Math.abs(sa - sb), flipped };
  };
  return {
    noise: opts.noise,
    label,
    labelAll: (pairs) => pairs.map((p) => label(p.prompt, p.better, p.worse)),
  };
}
