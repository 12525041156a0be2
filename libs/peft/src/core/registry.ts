// The PEFT method registry: each methods/<name>/index.ts registers one entry; duplicates are refused.
import type { PeftHost } from './host.ts';
import type { PeftModel } from './peft-model.ts';
import type { ModelShapes, PlanRow } from '../plan/shapes.ts';
import type { NamedTensor } from '../format/tensors.ts';

export interface ApplyOptions {
  /** Seed for adapter initialisation and dropout. */
  seed?: number;
}

export interface PeftMethod<C extends object = Record<string, unknown>> {
  /** CLI / API name: 'lora'. */
  readonly name: string;
  /** Namespace of the method's tfjs variable names (`<prefix>/<module>/<tensor>`); unique. */
  readonly prefix: string;
  readonly description: string;
  /** PEFT's peft_type in adapter_config.json; null when the files are plain HF weights (full / partial). */
  readonly peftType: string | null;
  readonly mergeable: boolean;
  /** Validate a raw config (PEFT field names), fill defaults; errors name the field. */
  parseConfig(raw: Record<string, unknown>): C;
  /** Config from the CLI's --rank / --targets (undefined: the method's default). */
  cliConfig(opts: { rank?: number; targets?: string[] }): C;
  apply(host: PeftHost, config: C, opts?: ApplyOptions): PeftModel;
  /** Parameter plan per module, from shapes alone (no weights). */
  plan(shapes: ModelShapes, config: C): PlanRow[];
  /** adapter_config.json content; `modules` are the wrapped module paths (null when not applied). */
  adapterConfig(config: C, ctx: { baseModel: string | null; modules: string[] | null }): Record<string, unknown>;
  /** Does this adapter_config.json belong to this method? */
  recognises(adapterConfig: Record<string, unknown>): boolean;
  /** The method's config from an adapter_config.json (PEFT's or ours). */
  fromAdapterConfig(adapterConfig: Record<string, unknown>): C;
  /** Tensors to save, by file key. */
  stateDict(model: PeftModel): Map<string, NamedTensor>;
  /** Put saved tensors into a freshly applied model; throws on missing or unexpected keys. */
  loadStateDict(model: PeftModel, tensors: Map<string, NamedTensor>): void;
}

const methods = new Map<string, PeftMethod<object>>();

export function registerPeftMethod<C extends object>(method: PeftMethod<C>): void {
  if (methods.has(method.name)) throw new Error(`registerPeftMethod: method '${method.name}' is already registered`);
  for (const m of methods.values()) {
    if (m.prefix === method.prefix) {
      throw new Error(`registerPeftMethod: prefix '${method.prefix}' of '${method.name}' is already used by '${m.name}'`);
    }
  }
  methods.set(method.name, method as unknown as PeftMethod<object>);
}

export function getPeftMethod(name: string): PeftMethod<object> {
  const m = methods.get(name);
  if (!m) throw new Error(`method: unknown PEFT method '${name}' (known: ${[...methods.keys()].join(', ')})`);
  return m;
}

export function listPeftMethods(): PeftMethod<object>[] {
  return [...methods.values()];
}

/** For tests of the registry itself. */
export function unregisterPeftMethod(name: string): void {
  methods.delete(name);
}
