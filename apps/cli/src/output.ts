// Output conventions shared by every command: --json for scripts, human text otherwise,
// and a one-line reason with a non-zero exit on error.

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Print a result: JSON (one object, for scripts) or the human rendering. */
export function emit<T>(json: boolean, value: T, human: (v: T) => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human(value) + '\n');
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
