// Model and adapter references: "name@version", "name@latest" or "name" (latest). Names and versions
// are checked here once, so storage paths and NATS KV keys built from them are always safe.
import { InvalidArgumentError } from '@tuneloop/service-kit';

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface Ref {
  name: string;
  /** undefined means the latest version */
  version?: string;
}

/** Checks a name (field names the request field in errors). */
export function checkName(name: string | undefined, field: string): string {
  if (!name || !NAME_RE.test(name) || name.includes('..')) {
    throw new InvalidArgumentError(field, `must match ${NAME_RE} without "..", got ${JSON.stringify(name ?? '')}`);
  }
  return name;
}

/** Checks a version; '' and 'latest' mean the latest one (undefined). */
export function checkVersion(version: string | undefined, field: string): string | undefined {
  if (!version || version === 'latest') return undefined;
  if (!VERSION_RE.test(version) || version.includes('..')) {
    throw new InvalidArgumentError(field, `must match ${VERSION_RE} without "..", got ${JSON.stringify(version)}`);
  }
  return version;
}

/** A ref from the wire (`{ name, version }`), validated. */
export function refFrom(ref: { name?: string; version?: string } | undefined, field: string): Ref {
  const name = checkName(ref?.name, `${field}.name`);
  const version = checkVersion(ref?.version, `${field}.version`);
  return version === undefined ? { name } : { name, version };
}

/** Parses "name@version" / "name@latest" / "name". */
export function parseRef(text: string, field = 'ref'): Ref {
  const at = text.lastIndexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const version = at < 0 ? undefined : text.slice(at + 1);
  if (at >= 0 && version === '') throw new InvalidArgumentError(field, `version after "@" is empty in ${JSON.stringify(text)}`);
  return refFrom({ name, version }, field);
}

export function formatRef(ref: Ref): string {
  return `${ref.name}@${ref.version ?? 'latest'}`;
}

/** Orders versions: numeric ones numerically, then the rest as strings. */
export function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The next automatic version: 1 + the largest numeric version (1 when there is none). */
export function nextVersion(existing: string[]): string {
  let max = 0;
  for (const v of existing) if (/^\d+$/.test(v)) max = Math.max(max, Number(v));
  return String(max + 1);
}
