// The method registry refuses a duplicate name or prefix, and unknown names are a clear error.
import { afterEach, describe, expect, it } from 'vitest';
import { getPeftMethod, registerPeftMethod, type PeftMethod } from '../index.ts';
import { unregisterPeftMethod } from './registry.ts';

const lora = getPeftMethod('lora');
const fake = (name: string, prefix: string): PeftMethod<object> => ({ ...lora, name, prefix });

afterEach(() => {
  unregisterPeftMethod('lora-copy');
});

describe('PEFT method registry', () => {
  it('throws on a duplicate name or prefix', () => {
    expect(() => registerPeftMethod(fake('lora', 'other'))).toThrow("registerPeftMethod: method 'lora' is already registered");
    expect(() => registerPeftMethod(fake('lora-copy', 'vera'))).toThrow("registerPeftMethod: prefix 'vera' of 'lora-copy' is already used by 'vera'");
    registerPeftMethod(fake('lora-copy', 'lora-copy'));
    expect(getPeftMethod('lora-copy').name).toBe('lora-copy');
  });
  it('names the known methods for an unknown one', () => {
    expect(() => getPeftMethod('ia3')).toThrow("method: unknown PEFT method 'ia3' (known: full, partial, lora, qlora, dora, vera, adalora");
  });
});
