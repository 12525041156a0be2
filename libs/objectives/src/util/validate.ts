// Shared argument checks for the loss functions: rank, shape agreement and numeric ranges, each
// failure an ObjectiveInputError naming the field and the limit.
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from './errors.ts';

export function requireTensor(field: string, x: unknown, rank: number): tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw new ObjectiveInputError(field, `must be a tf.Tensor of rank ${rank}, got ${describe(x)}`);
  }
  if (x.rank !== rank) {
    throw new ObjectiveInputError(field, `must have rank ${rank}, got shape [${x.shape.join(', ')}]`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') {
    throw new ObjectiveInputError(field, `must be numeric (float32, int32 or bool), got ${x.dtype}`);
  }
  return x;
}

export function requireSameShape(fieldA: string, a: tf.Tensor, fieldB: string, b: tf.Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ObjectiveInputError(
      fieldB,
      `must have the shape of ${fieldA} [${a.shape.join(', ')}], got [${b.shape.join(', ')}]`,
    );
  }
}

export function requireDim(field: string, x: tf.Tensor, axis: number, size: number, what: string): void {
  if (x.shape[axis] !== size) {
    throw new ObjectiveInputError(field, `dimension ${axis} must be ${size} (${what}), got ${x.shape[axis]}`);
  }
}

export function requireNonEmptyBatch(field: string, x: tf.Tensor): void {
  if (x.shape[0] === 0) throw new ObjectiveInputError(field, 'must hold at least one example, got batch size 0');
}

export function requireFinite(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ObjectiveInputError(field, `must be a finite number, got ${describe(v)}`);
  }
  return v;
}

export function requirePositive(field: string, v: unknown): number {
  const n = requireFinite(field, v);
  if (n <= 0) throw new ObjectiveInputError(field, `must be > 0, got ${n}`);
  return n;
}

export function requireNonNegative(field: string, v: unknown): number {
  const n = requireFinite(field, v);
  if (n < 0) throw new ObjectiveInputError(field, `must be >= 0, got ${n}`);
  return n;
}

export function requireRange(field: string, v: unknown, lo: number, hi: number, hiOpen = false): number {
  const n = requireFinite(field, v);
  if (n < lo || (hiOpen ? n >= hi : n > hi)) {
    throw new ObjectiveInputError(field, `must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${n}`);
  }
  return n;
}

export function requireInteger(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ObjectiveInputError(field, `must be an integer >= ${min}, got ${describe(v)}`);
  }
  return v;
}

export function requireOneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ObjectiveInputError(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

function describe(v: unknown): string {
  if (v instanceof tf.Tensor) return `tensor [${v.shape.join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `array of length ${v.length}`;
  return String(v);
}
