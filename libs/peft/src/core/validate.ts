// Config-field validation: every error names the field and the limit (`r: must be an integer >= 1, got 0`).

export type RawConfig = Record<string, unknown>;

export function intField(raw: RawConfig, name: string, dflt: number | undefined, min: number): number {
  const v = raw[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`${name}: must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

export function numField(raw: RawConfig, name: string, dflt: number, min: number, max = Infinity, maxExclusive = false): number {
  const v = raw[name] ?? dflt;
  const tooBig = typeof v === 'number' && (maxExclusive ? v >= max : v > max);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || tooBig) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}${maxExclusive ? ')' : ']'}`;
    throw new Error(`${name}: must be a number ${range}, got ${String(v)}`);
  }
  return v;
}

export function boolField(raw: RawConfig, name: string, dflt: boolean): boolean {
  const v = raw[name] ?? dflt;
  if (typeof v !== 'boolean') throw new Error(`${name}: must be true or false, got ${String(v)}`);
  return v;
}

export function oneOf<T extends string | boolean>(raw: RawConfig, name: string, dflt: T, allowed: readonly T[]): T {
  const v = (raw[name] ?? dflt) as T;
  if (!allowed.includes(v)) {
    throw new Error(`${name}: must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** target_modules: a non-empty list of names, a regex string, or 'all-linear'. */
export function targetsField(raw: RawConfig, dflt: string[] | string): string[] | string {
  const v = raw.target_modules ?? dflt;
  if (Array.isArray(v) && v.length === 1 && v[0] === 'all-linear') return 'all-linear';
  if (typeof v === 'string' && v.length > 0) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s.length > 0)) return [...v];
  throw new Error(`target_modules: must be a non-empty list of module names or 'all-linear', got ${JSON.stringify(v)}`);
}

/** Reject keys the method does not know (typos would otherwise be silently ignored). */
export function rejectUnknown(raw: RawConfig, known: readonly string[], method: string): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k)) throw new Error(`${k}: not a ${method} config field (known: ${known.join(', ')})`);
  }
}
