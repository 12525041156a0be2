// Learning-rate schedule: linear warmup then cosine decay to minLr (as in GPT-2/nanoGPT and HF get_cosine_schedule_with_warmup).

export interface CosineScheduleConfig {
  peakLr: number; // learning rate at the end of warmup
  warmupSteps: number; // steps of linear warmup from 0
  totalSteps: number; // step at which the cosine reaches minLr
  minLr?: number; // floor, default 0
}

/** Learning rate for 0-based `step`: (step + 1) / warmup * peak during warmup, then cosine down to minLr. */
export function cosineWithWarmup(cfg: CosineScheduleConfig, step: number): number {
  const { peakLr, warmupSteps, totalSteps } = cfg;
  const minLr = cfg.minLr ?? 0;
  if (!(peakLr > 0)) throw new Error(`peakLr: must be > 0, got ${peakLr}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`warmupSteps: must be an integer >= 0, got ${warmupSteps}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`totalSteps: must be an integer >= 1, got ${totalSteps}`);
  if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
  if (step >= totalSteps) return minLr;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
}
