// Test fixtures of the rollout tests: a PEFT LoRA adapter folder for the tiny one-layer arith model (hidden 32).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRng } from '@tuneloop/engine';
import { fromFloat32, serializeSafetensors } from '@tuneloop/model';

/** A LoRA adapter (r 2 on q_proj and v_proj of the one layer) with non-zero A and B, as PEFT writes it; `seed` varies it. */
export async function makeAdapter(dir: string, seed = 17): Promise<void> {
  const rng = createRng(seed);
  const cfg = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'], bias: 'none', use_rslora: false, use_dora: false };
  const t = new Map<string, ReturnType<typeof fromFloat32>>();
  const rand = (n: number) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 1.5);
  for (const [m, out] of [['q_proj', 32], ['v_proj', 16]] as const) {
    const p = `base_model.model.model.layers.0.self_attn.${m}`;
    t.set(`${p}.lora_A.weight`, fromFloat32(rand(2 * 32), 'F32', [2, 32]));
    t.set(`${p}.lora_B.weight`, fromFloat32(rand(out * 2), 'F32', [out, 2]));
  }
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'adapter_config.json'), JSON.stringify(cfg));
  await writeFile(path.join(dir, 'adapter_model.safetensors'), serializeSafetensors(t, { format: 'pt' }));
}
