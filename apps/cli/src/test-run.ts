// Test helper: runs the real CLI entry point in-process and captures what it writes and its exit code.
import { vi } from 'vitest';
import { main } from './main.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `tuneloop ...args`, with stdout and stderr captured (and restored afterwards). */
export async function runCli(args: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'tuneloop', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
