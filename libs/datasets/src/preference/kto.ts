// KTO's unpaired form (Ethayarajh et al. 2024; TRL's unpaired_preference format): {prompt, completion, label}
// with label true for a desirable completion. A pair becomes two examples, as TRL's unpair_preference_dataset.
import type { PreferencePair } from './annotator.ts';

export interface KtoExample {
  prompt: string;
  completion: string;
  label: boolean; // desirable (true) or undesirable (false)
}

/** Chosen -> label true, rejected -> label false, interleaved in pair order. */
export function unpairPreferences(pairs: PreferencePair[]): KtoExample[] {
  return pairs.flatMap((p) => [
    { prompt: p.prompt, completion: p.chosen, label: true },
    { prompt: p.prompt, completion: p.rejected, label: false },
  ]);
}
