// A model with a PEFT method applied: the adapter layers (or, for full / partial, the chosen base
// weights), what trains, trainer callbacks and objective terms, merge / unload, and the parameter report.
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterLinear, MergeReport } from './adapter-layer.ts';
import type { ObjectiveTerm, PeftHost, TrainerCallback } from './host.ts';
import type { LinearModule } from './linear.ts';

/** PEFT's state-dict key for an adapter tensor: 'base_model.model.<module>.<tensor>'. */
export function peftKey(module: string, tensor: string): string {
  return `base_model.model.${module}.${tensor}`;
}

export interface ParameterReport {
  trainable: number;
  total: number;
  percent: number;
}

export interface PeftModelParts {
  methodName: string;
  config: Record<string, unknown>;
  host: PeftHost;
  /** Parameters of the base model before wrapping. */
  baseParameters: number;
  layers?: Map<string, AdapterLinear>;
  /** Base weights that train (full / partial), by HF name. */
  trainableWeights?: Map<string, tf.Variable>;
  /** Frozen tensors owned by the method and shared by layers (VeRA's A and B). */
  shared?: Map<string, tf.Tensor>;
  callbacks?: TrainerCallback[];
  objectiveTerms?: ObjectiveTerm[];
  /** Undo method-specific host changes (unfreeze) on unload. */
  restore?: () => void;
}

export class PeftModel {
  readonly methodName: string;
  readonly config: Record<string, unknown>;
  readonly host: PeftHost;
  readonly layers: Map<string, AdapterLinear>;
  readonly trainableWeights: Map<string, tf.Variable>;
  readonly shared: Map<string, tf.Tensor>;
  readonly callbacks: TrainerCallback[];
  readonly objectiveTerms: ObjectiveTerm[];
  private readonly baseParameters: number;
  private readonly originals = new Map<string, LinearModule>();
  private readonly restoreHost?: () => void;

  constructor(p: PeftModelParts) {
    this.methodName = p.methodName;
    this.config = p.config;
    this.host = p.host;
    this.baseParameters = p.baseParameters;
    this.layers = p.layers ?? new Map();
    this.trainableWeights = p.trainableWeights ?? new Map();
    this.shared = p.shared ?? new Map();
    this.callbacks = p.callbacks ?? [];
    this.objectiveTerms = p.objectiveTerms ?? [];
    this.restoreHost = p.restore;
    const table = p.host.linears(); // the modules as they were (QLoRA's layer.base is a packed copy)
    for (const [name, layer] of this.layers) {
      this.originals.set(name, table.get(name) ?? layer.base);
      p.host.setLinear(name, layer);
    }
  }

  /** Trainable tensors by saved name: PEFT keys for adapters, HF names for full / partial. */
  namedTrainable(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>(this.trainableWeights);
    for (const [module, layer] of this.layers) {
      if (layer.merged) continue;
      for (const t of layer.trainableNames) out.set(peftKey(module, t), layer.tensor(t));
    }
    return out;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.namedTrainable().values()];
  }

  /** Dropout on (training) or off (eval) in every adapter layer. */
  setTraining(training: boolean): void {
    for (const l of this.layers.values()) l.training = training;
  }

  /** PEFT's print_trainable_parameters numbers: trainable, all (base + adapter tensors), percent. */
  parameterReport(): ParameterReport {
    let adapter = 0;
    for (const l of this.layers.values()) for (const v of l.tensors.values()) adapter += v.size;
    let trainable = 0;
    for (const v of this.namedTrainable().values()) trainable += v.size;
    const total = this.baseParameters + adapter;
    return { trainable, total, percent: total === 0 ? 0 : (100 * trainable) / total };
  }

  /** The one-line report, formatted like PEFT's print_trainable_parameters. */
  trainableReportLine(): string {
    const r = this.parameterReport();
    return `trainable params: ${r.trainable.toLocaleString('en-US')} || all params: ${r.total.toLocaleString('en-US')} || trainable%: ${r.percent.toFixed(4)}`;
  }

  /** Merge every adapter into its base weight (forward unchanged within float tolerance). */
  merge(): MergeReport[] {
    if (this.layers.size === 0) throw new Error(`merge: method '${this.methodName}' has no adapter to merge`);
    return [...this.layers.values()].map((l) => l.merge());
  }

  unmerge(): void {
    for (const l of this.layers.values()) l.unmerge();
  }

  /** Replace each adapter in the model by its merged dense linear and free the adapters. */
  mergeAndUnload(): MergeReport[] {
    if (this.layers.size === 0) throw new Error(`merge: method '${this.methodName}' has no adapter to merge`);
    const reports: MergeReport[] = [];
    for (const [name, layer] of this.layers) {
      reports.push({ module: name, dequantized: layer.merge().dequantized });
      this.host.setLinear(name, layer.takeMerged());
      layer.dispose();
    }
    this.disposeShared();
    return reports;
  }

  /** Put the original base linears back and free the adapter tensors. */
  unload(): void {
    for (const [name, layer] of this.layers) {
      this.host.setLinear(name, this.originals.get(name) as LinearModule);
      layer.dispose();
    }
    this.disposeShared();
    this.restoreHost?.();
  }

  private disposeShared(): void {
    for (const t of this.shared.values()) t.dispose();
    this.shared.clear();
  }
}
