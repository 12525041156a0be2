// A training job's starting policy on a loaded base model: a PEFT adapter folder loaded onto it (training continues
// the adapter), or a fresh PEFT method applied. The adapter trainer's and the preference optimizer's jobs share it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CausalLM } from '@tuneloop/model';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, decodeAdapterFiles, getPeftMethod, loadAdapter, type AdapterFiles, type PeftModel } from '@tuneloop/peft';

/** The two files of a PEFT adapter folder, decoded (config + tensors). */
export async function readAdapterFolder(dir: string): Promise<AdapterFiles> {
  return decodeAdapterFiles(await readFile(path.join(dir, ADAPTER_CONFIG_FILE), 'utf8'), new Uint8Array(await readFile(path.join(dir, ADAPTER_WEIGHTS_FILE))));
}

/** `model` with the adapter in `initAdapterDir` loaded (training continues it), or with `method` applied fresh. */
export async function startingPolicy(
  model: CausalLM,
  o: { initAdapterDir?: string; method: string; methodConfig: Record<string, unknown>; seed: number },
): Promise<PeftModel> {
  if (o.initAdapterDir) return loadAdapter(model, await readAdapterFolder(o.initAdapterDir), { seed: o.seed });
  const method = getPeftMethod(o.method);
  return method.apply(model, method.parseConfig(o.methodConfig), { seed: o.seed });
}
