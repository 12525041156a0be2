// @tuneloop/peft: Parameter-efficient fine-tuning methods, one folder each, and the registry.
import './methods/index.ts';

export { registerPeftMethod, getPeftMethod, listPeftMethods } from './core/registry.ts';
export type { PeftMethod, ApplyOptions } from './core/registry.ts';
export { PeftModel, peftKey } from './core/peft-model.ts';
export type { ParameterReport } from './core/peft-model.ts';
export { AdapterLinear } from './core/adapter-layer.ts';
export type { MergeReport } from './core/adapter-layer.ts';
export type { PeftHost, TrainerCallback, ObjectiveTerm } from './core/host.ts';
export { FrozenDense, denseWeightOf } from './core/linear.ts';
export type { LinearModule } from './core/linear.ts';
export { selectTargets, ALL_LINEAR } from './core/targets.ts';
export { llamaShapes, singleMatrixShapes, shapeConfigFromJson } from './plan/shapes.ts';
export type { ShapeConfig, LinearShape, ModelShapes, PlanRow } from './plan/shapes.ts';
export { shapesOfHost } from './plan/host-shapes.ts';
export { planPeft, summarisePlan, GRAD_BYTES, ADAM_STATE_BYTES } from './plan/plan.ts';
export type { PeftPlan, PlanGroup } from './plan/plan.ts';
export { saveAdapter, loadAdapter, detectMethod, encodeAdapterFiles, decodeAdapterFiles, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './format/peft-files.ts';
export type { AdapterFiles } from './format/peft-files.ts';
export type { NamedTensor } from './format/tensors.ts';
export { budgetSchedule, RankAllocator } from './methods/adalora/allocator.ts';
export type { LoraConfig } from './methods/lora/config.ts';
export type { VeraConfig } from './methods/vera/config.ts';
export type { AdaLoraConfig } from './methods/adalora/config.ts';
export type { QloraConfig } from './methods/qlora/config.ts';
export type { PartialConfig } from './methods/partial/config.ts';
