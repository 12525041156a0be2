// Runs the demo round (deploy/local/demo.ts) in a child process, so model loading and sampling stay off
// the stack's event loop; the admin's credentials go over stdin, never the command line or the logs.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Logger } from '@tuneloop/service-kit';
import type { RunningLabeling } from './labeling.ts';

const script = fileURLToPath(new URL('./demo.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

/** Seeds the demo project; reports the outcome on stderr (one line) and in the logs. Never throws. */
export async function runDemoRound(home: string, labeling: RunningLabeling, logger: Logger): Promise<void> {
  const child = spawn(tsx, [script], {
    env: { ...process.env, TUNELOOP_HOME: path.resolve(home) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(JSON.stringify({ email: labeling.adminEmail, password: labeling.adminPassword, labelingUrl: labeling.url }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) {
    logger.warn({ code, error: err.trim().split('\n').pop() }, 'demo round not seeded');
    return;
  }
  const r = JSON.parse(out) as { projectId: string; created: boolean; source: string; comparisons: number };
  logger.info(r, 'demo round');
  process.stderr.write(
    r.created
      ? `tuneloop: demo round: ${r.comparisons} comparisons from the ${r.source} await ranking at ${labeling.url}/annotate/${r.projectId}\n`
      : `tuneloop: demo round: project already there, rank at ${labeling.url}/annotate/${r.projectId}\n`,
  );
}
