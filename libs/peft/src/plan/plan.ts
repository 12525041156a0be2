// `peft plan`: trainable / total parameters per module and in total, and the memory AdamW needs for the
// trainable part (fp32 gradient + two fp32 moments = 12 bytes per trainable parameter), from shapes alone.
import { getPeftMethod } from '../core/registry.ts';
import type { ModelShapes, PlanRow } from './shapes.ts';

/** Bytes per trainable parameter: fp32 gradient (4) + AdamW's m and v in fp32 (8). */
export const GRAD_BYTES = 4;
export const ADAM_STATE_BYTES = 8;

export interface PlanGroup {
  /** Module kind: the last path component (q_proj, embed_tokens, input_layernorm, ...). */
  kind: string;
  count: number;
  trainable: number;
  total: number;
}

export interface PeftPlan {
  method: string;
  config: Record<string, unknown>;
  trainable: number;
  total: number;
  percent: number;
  optimizerMemory: { gradientBytes: number; adamStateBytes: number; totalBytes: number };
  groups: PlanGroup[];
  modules: PlanRow[];
}

export function summarisePlan(method: string, config: Record<string, unknown>, rows: PlanRow[]): PeftPlan {
  const trainable = rows.reduce((n, r) => n + r.trainable, 0);
  const total = rows.reduce((n, r) => n + r.total, 0);
  const groups = new Map<string, PlanGroup>();
  for (const r of rows) {
    const kind = r.module.split('.').pop() as string;
    const g = groups.get(kind) ?? { kind, count: 0, trainable: 0, total: 0 };
    g.count += 1;
    g.trainable += r.trainable;
    g.total += r.total;
    groups.set(kind, g);
  }
  return {
    method,
    config,
    trainable,
    total,
    percent: total === 0 ? 0 : (100 * trainable) / total,
    optimizerMemory: { gradientBytes: GRAD_BYTES * trainable, adamStateBytes: ADAM_STATE_BYTES * trainable, totalBytes: (GRAD_BYTES + ADAM_STATE_BYTES) * trainable },
    groups: [...groups.values()],
    modules: rows,
  };
}

/**
 * Plan `method` on `shapes`. `config` is the method's raw config (PEFT field names); when absent, the
 * CLI-style options (rank, targets) fill the method's defaults.
 */
export function planPeft(shapes: ModelShapes, method: string, opts: { config?: Record<string, unknown>; rank?: number; targets?: string[] } = {}): PeftPlan {
  const m = getPeftMethod(method);
  const config = opts.config ? m.parseConfig(opts.config) : m.cliConfig({ rank: opts.rank, targets: opts.targets });
  return summarisePlan(method, { ...config }, m.plan(shapes, config));
}
