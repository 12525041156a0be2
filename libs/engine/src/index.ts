// @tuneloop/engine: TensorFlow.js backend choice, seeded RNG, optimizers, memory guard.
export { initBackend, describeBackends, backendFromEnv, registerGradients, BACKEND_NAMES } from './backend.ts';
export type { BackendName, BackendInfo, InitBackendOptions } from './backend.ts';
export { createRng } from './rng.ts';
export { batchSampler } from './batch-order.ts';
export type { Rng } from './rng.ts';
export { measureTensorGrowth, assertNoTensorGrowth } from './memory.ts';
export type { TensorGrowth } from './memory.ts';
export { cosineWithWarmup } from './schedule.ts';
export type { CosineScheduleConfig } from './schedule.ts';
export { globalNorm, clipByGlobalNorm } from './clip.ts';
export { AdamW } from './adamw.ts';
export type { AdamWConfig, AdamWMoments, AdamWState } from './adamw.ts';
export { oneHotFloat } from './ops.ts';
export { trainLoop } from './train-loop.ts';
export type { TrainLoopConfig, StepInfo } from './train-loop.ts';
