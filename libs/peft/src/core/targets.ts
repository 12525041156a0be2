// Target-module selection with Hugging Face PEFT's rules: a list matches a module whose path equals an
// entry or ends with '.<entry>'; a single string is a full-match regex; 'all-linear' is every linear but the output head.

export const ALL_LINEAR = 'all-linear';

export type TargetModules = string[] | string;

function isOutputHead(name: string): boolean {
  return name === 'lm_head' || name.endsWith('.lm_head');
}

/** The module paths (of `available`) selected by `targets`; throws naming any entry that matches nothing. */
export function selectTargets(available: string[], targets: TargetModules, field = 'target_modules'): string[] {
  if (targets === ALL_LINEAR) return available.filter((n) => !isOutputHead(n));
  if (typeof targets === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${targets})$`);
    } catch (e) {
      throw new Error(`${field}: not a valid regular expression: ${(e as Error).message}`);
    }
    const hit = available.filter((n) => re.test(n));
    if (hit.length === 0) throw new Error(`${field}: regex '${targets}' matches no linear module in the model`);
    return hit;
  }
  if (targets.length === 0) throw new Error(`${field}: must name at least one module or be '${ALL_LINEAR}'`);
  const selected = new Set<string>();
  for (const t of targets) {
    const hit = available.filter((n) => n === t || n.endsWith(`.${t}`));
    if (hit.length === 0) {
      const short = [...new Set(available.map((n) => n.split('.').pop()))].join(', ');
      throw new Error(`${field}: '${t}' is not a linear module of the model (available: ${short})`);
    }
    hit.forEach((h) => selected.add(h));
  }
  return available.filter((n) => selected.has(n));
}

/** Short names of selected modules (q_proj, ...), as PEFT writes an expanded target list. */
export function shortNames(modules: string[]): string[] {
  return [...new Set(modules.map((n) => n.split('.').pop() as string))].sort();
}
