// Runs the PyTorch performance anchor (../shared/anchors/torch-reference.sh, relative to the repository)
// in this invocation and returns its JSON, or null with the reason on stderr when it cannot run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ANCHOR_SCRIPT = path.resolve(repo, '..', 'shared', 'anchors', 'torch-reference.sh');

export function runAnchor(args: string[]): Record<string, unknown> | null {
  if (!existsSync(ANCHOR_SCRIPT)) {
    process.stderr.write(`anchor: ${ANCHOR_SCRIPT} not found; ratios omitted\n`);
    return null;
  }
  const r = spawnSync('bash', [ANCHOR_SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) {
    process.stderr.write(`anchor: exited ${r.status}: ${(r.stderr || '').split('\n').slice(-3).join(' ')}\n`);
    return null;
  }
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    process.stderr.write(`anchor: output is not JSON: ${r.stdout.slice(0, 200)}\n`);
    return null;
  }
}
