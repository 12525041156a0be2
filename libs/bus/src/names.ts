// Resolved names of every stream, subject prefix, KV bucket and object store the bus uses.
// One place: a name prefix (e.g. 'T123_') isolates tests: stream T123_JOBS, subjects T123.jobs.>.

export interface BusNames {
  /** the prefix this set was resolved from ('' in production) */
  readonly prefix: string;
  /** prepended to every subject: '' or e.g. 'T123.' */
  readonly subjectPrefix: string;
  readonly streams: { readonly events: string; readonly jobs: string; readonly progress: string; readonly dead: string };
  readonly kv: { readonly jobs: string; readonly rounds: string };
  readonly objects: { readonly blobs: string };
}

const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Resolves every name from one optional prefix. Throws on a prefix NATS would reject. */
export function resolveNames(prefix = ''): BusNames {
  if (prefix !== '' && !PREFIX_RE.test(prefix)) {
    throw new Error(`prefix: must match ${PREFIX_RE} (letters, digits, '_' or '-'), got ${JSON.stringify(prefix)}`);
  }
  const token = prefix.replace(/[_-]+$/, '');
  const subjectPrefix = token === '' ? '' : `${token}.`;
  return {
    prefix,
    subjectPrefix,
    streams: {
      events: `${prefix}EVENTS`,
      jobs: `${prefix}JOBS`,
      progress: `${prefix}PROGRESS`,
      dead: `${prefix}DEAD`,
    },
    kv: { jobs: `${prefix}jobs`, rounds: `${prefix}rounds` },
    objects: { blobs: `${prefix}blobs` },
  };
}

/** Wire subject of a logical subject ('jobs.train.sft' -> 'T123.jobs.train.sft'). */
export function wireSubject(names: BusNames, logical: string): string {
  return `${names.subjectPrefix}${logical}`;
}

/** Logical subject of a wire subject (inverse of wireSubject); throws when the prefix differs. */
export function logicalSubject(names: BusNames, wire: string): string {
  if (!wire.startsWith(names.subjectPrefix)) {
    throw new Error(`subject: ${wire} is outside the bus prefix '${names.subjectPrefix}'`);
  }
  return wire.slice(names.subjectPrefix.length);
}
