// Writes a benchmark result as JSON under bench/results/ (gitignored) and returns the file path.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'results');

export function writeResult(name: string, value: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}
