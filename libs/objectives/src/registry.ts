// The objective registry: each objective folder's index.ts ends with one registerObjective({...})
// call; trainers look objectives up by name and log their metrics under TRL's metric names.
import type * as tf from '@tensorflow/tfjs-core';

export type ObjectiveKind = 'sft' | 'reward' | 'preference' | 'rl';

export interface ObjectiveDefinition<I = never, O = unknown> {
  /** Registry key, snake_case as in the CLI and job specs (e.g. 'dpo', 'bradley_terry'). */
  readonly name: string;
  readonly kind: ObjectiveKind;
  /** Paper and equation the loss follows. */
  readonly reference: string;
  /** The pure loss function. */
  readonly loss: (input: I) => O;
  /** Scalar metrics of one output under TRL's names (e.g. 'rewards/chosen'); reads tensors synchronously. */
  readonly metrics: (output: O) => Record<string, number>;
}

// Stored with erased input/output types; getObjective's caller knows which objective it asked for.
type AnyObjective = ObjectiveDefinition<never, unknown>;

const registry = new Map<string, AnyObjective>();

export function registerObjective<I, O>(def: ObjectiveDefinition<I, O>): void {
  if (!/^[a-z][a-z0-9_]*$/.test(def.name)) {
    throw new Error(`objective name: must be snake_case ([a-z][a-z0-9_]*), got '${def.name}'`);
  }
  if (registry.has(def.name)) throw new Error(`objective '${def.name}' is already registered`);
  registry.set(def.name, def as unknown as AnyObjective);
}

/** Looks an objective up by name; unknown names throw with the list of known ones. */
export function getObjective<I = never, O = unknown>(name: string): ObjectiveDefinition<I, O> {
  const def = registry.get(name);
  if (!def) {
    throw new Error(`objective: unknown objective '${name}' (known: ${listObjectives().join(', ')})`);
  }
  return def as unknown as ObjectiveDefinition<I, O>;
}

export function listObjectives(): string[] {
  return [...registry.keys()].sort();
}

/** Mean of a metric tensor as a plain number (scalars pass through; empty tensors give NaN). */
export function meanOf(x: tf.Tensor): number {
  const v = x.dataSync();
  if (v.length === 0) return Number.NaN;
  let s = 0;
  for (const e of v) s += e;
  return s / v.length;
}
