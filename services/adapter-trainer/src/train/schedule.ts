// Learning-rate schedules by Hugging Face's lr_scheduler_type names: linear warmup, then cosine (default),
// linear decay or constant (transformers.get_scheduler).
import { cosineWithWarmup } from '@tuneloop/engine';

export type SchedulerName = 'cosine' | 'linear' | 'constant';
export const SCHEDULERS: readonly SchedulerName[] = ['cosine', 'linear', 'constant'];

export interface ScheduleConfig {
  name: SchedulerName;
  peakLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Learning rate of 0-based optimizer step `step`. */
export function learningRate(c: ScheduleConfig, step: number): number {
  if (c.name === 'cosine') return cosineWithWarmup({ peakLr: c.peakLr, warmupSteps: c.warmupSteps, totalSteps: c.totalSteps, minLr: 0 }, step);
  if (step < c.warmupSteps) return (c.peakLr * (step + 1)) / c.warmupSteps;
  if (c.name === 'constant') return c.peakLr;
  return c.peakLr * Math.max(0, (c.totalSteps - step) / Math.max(1, c.totalSteps - c.warmupSteps));
}
