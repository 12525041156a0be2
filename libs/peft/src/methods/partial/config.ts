// Partial fine-tuning configuration: which units train (everything else is frozen): the top k
// transformer blocks, modules matching names or /regex/ patterns, and the head (final norm + lm_head).
import { boolField, intField, rejectUnknown, type RawConfig } from '../../core/validate.ts';

export interface PartialConfig {
  top_k_blocks: number; // the last k of model.layers.* train
  modules: string[]; // module names (suffix match, e.g. 'o_proj') or '/regex/' full-match patterns
  head: boolean; // lm_head and model.norm train
}

export const PARTIAL_FIELDS = ['top_k_blocks', 'modules', 'head'] as const;

export function parsePartialConfig(raw: RawConfig): PartialConfig {
  rejectUnknown(raw, PARTIAL_FIELDS, 'partial');
  const modules = raw.modules ?? [];
  if (!Array.isArray(modules) || !modules.every((m) => typeof m === 'string' && m.length > 0)) {
    throw new Error(`modules: must be a list of module names or /regex/ patterns, got ${JSON.stringify(modules)}`);
  }
  for (const m of modules as string[]) {
    if (m.length > 2 && m.startsWith('/') && m.endsWith('/')) {
      try {
        new RegExp(m.slice(1, -1));
      } catch (e) {
        throw new Error(`modules: '${m}' is not a valid regular expression: ${(e as Error).message}`);
      }
    }
  }
  return { top_k_blocks: intField(raw, 'top_k_blocks', 2, 0), modules: [...(modules as string[])], head: boolField(raw, 'head', true) };
}

/** Number of blocks: 1 + the largest i in 'model.layers.i.*'. */
export function blockCount(modules: string[]): number {
  let n = 0;
  for (const m of modules) {
    const hit = /^model\.layers\.(\d+)\./.exec(m);
    if (hit) n = Math.max(n, Number(hit[1]) + 1);
  }
  return n;
}

/** The rule: does `module` train under `c` in a model of `blocks` blocks? */
export function partialRule(c: PartialConfig, blocks: number): (module: string) => boolean {
  const patterns = c.modules.map((m) => (m.length > 2 && m.startsWith('/') && m.endsWith('/') ? new RegExp(`^(?:${m.slice(1, -1)})$`) : m));
  return (module) => {
    const block = /^model\.layers\.(\d+)\./.exec(module);
    if (block && Number(block[1]) >= blocks - c.top_k_blocks) return true;
    if (c.head && (module === 'lm_head' || module === 'model.norm')) return true;
    return patterns.some((p) => (typeof p === 'string' ? module === p || module.endsWith(`.${p}`) : p.test(module)));
  };
}
