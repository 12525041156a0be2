// Runs model-written JavaScript in a separate, locked-down Node process: permission model on (no
// file system, child processes, workers or addons), empty environment, V8 heap limit plus an RSS
// watchdog, a wall-clock limit enforced with SIGKILL, and network globals and module loading removed
// before the code runs in a fresh vm context. Only JSON crosses the boundary.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CHILD_SOURCE } from './child-source.ts';

export interface SandboxRequest {
  /** Model-written JavaScript defining the entry point. */
  code: string;
  /** Name of the function to call (an identifier). */
  functionName: string;
  /** Argument lists, one per test case. */
  inputs: unknown[][];
  /** Per-test-case CPU time limit inside the child (vm timeout), ms; default 1000. */
  testTimeoutMs?: number;
  /** Wall-clock limit for the whole process, ms; default 2000 + testTimeoutMs * (inputs + 1). */
  wallClockMs?: number;
  /** V8 old-space limit of the child, MiB; default 64. */
  memoryMb?: number;
  /** Resident-set limit of the child watched from outside, MiB; default 2 * memoryMb + 96. */
  rssLimitMb?: number;
}

export type TestOutcome = { ok: true; value: unknown } | { ok: false; error: string };

export interface SandboxResult {
  /** One outcome per input, in order (failed when the process ended before reaching it). */
  outcomes: TestOutcome[];
  /** How the process ended. */
  status: 'ok' | 'load_error' | 'timeout' | 'memory' | 'crashed' | 'output_limit';
  durationMs: number;
  /** The start of the child's stderr (diagnostics). */
  stderr: string;
}

export type SandboxRunner = (req: SandboxRequest) => Promise<SandboxResult>;

const MAX_STDOUT = 4 * 1024 * 1024;
const MAX_RESULT_CHARS = 64 * 1024;
const permissionFlag = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

/** Node flags of the sandbox process (before `-e <source>`): the process-level layer of the sandbox. */
export function sandboxNodeFlags(memoryMb: number): string[] {
  return [permissionFlag, '--no-addons', '--no-warnings', '--disallow-code-generation-from-strings', `--max-old-space-size=${memoryMb}`];
}

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export function runInSandbox(req: SandboxRequest): Promise<SandboxResult> {
  if (typeof req.code !== 'string') throw new TypeError('code: must be a string');
  if (!/^[A-Za-z_$][\w$]*$/.test(req.functionName)) throw new TypeError(`functionName: must be a JavaScript identifier, got '${req.functionName}'`);
  if (!Array.isArray(req.inputs) || req.inputs.some((a) => !Array.isArray(a))) throw new TypeError('inputs: must be an array of argument arrays');
  const testTimeoutMs = req.testTimeoutMs ?? 1000;
  const memoryMb = req.memoryMb ?? 64;
  const rssLimitMb = req.rssLimitMb ?? 2 * memoryMb + 96;
  const wallClockMs = req.wallClockMs ?? 2000 + testTimeoutMs * (req.inputs.length + 1);
  const nonce = randomBytes(12).toString('hex');
  const started = Date.now();

  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...sandboxNodeFlags(memoryMb), '-e', CHILD_SOURCE],
      { env: {}, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true },
    );
    const outcomes: (TestOutcome | undefined)[] = new Array(req.inputs.length).fill(undefined);
    let status: SandboxResult['status'] | undefined;
    let stdout = '';
    let stdoutBytes = 0;
    let stderr = '';
    let done = false;
    let loadError = '';

    const kill = (why: SandboxResult['status']) => {
      status ??= why;
      child.kill('SIGKILL');
    };
    const wall = setTimeout(() => kill('timeout'), wallClockMs);
    const watchdog = setInterval(() => {
      const rss = child.pid === undefined ? null : rssMb(child.pid);
      if (rss !== null && rss > rssLimitMb) kill('memory');
    }, 20);

    const onLine = (line: string) => {
      if (!line.startsWith(nonce)) return;
      let msg: { kind: string; index?: number; result?: string; error?: string };
      try {
        msg = JSON.parse(line.slice(nonce.length));
      } catch {
        return;
      }
      if (msg.kind === 'load_error') {
        status ??= 'load_error';
        loadError = String(msg.error ?? '');
      }
      else if (msg.kind === 'done') done = true;
      else if (msg.kind === 'test' && typeof msg.index === 'number' && msg.index >= 0 && msg.index < outcomes.length) {
        try {
          const r = JSON.parse(msg.result ?? '') as { ok?: unknown; value?: unknown; error?: unknown };
          outcomes[msg.index] = r.ok === true ? { ok: true, value: r.value } : { ok: false, error: String(r.error ?? 'failed') };
        } catch {
          outcomes[msg.index] = { ok: false, error: 'unreadable result' };
        }
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT) return kill('output_limit');
      stdout += chunk;
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        onLine(stdout.slice(0, nl));
        stdout = stdout.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk.slice(0, 4096 - stderr.length);
    });
    child.stdin.on('error', () => {});
    child.on('error', (err) => {
      clearTimeout(wall);
      clearInterval(watchdog);
      reject(new Error(`sandbox: could not start ${process.execPath}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(wall);
      clearInterval(watchdog);
      // Exit code 9 = Node rejected its own flags: a broken sandbox, not wrong code; never score it 0.
      if (code === 9 && !done && stdoutBytes === 0) {
        reject(new Error(`sandbox: node refused to start (${stderr.trim().split('\n')[0] ?? 'exit 9'})`));
        return;
      }
      if (!status) {
        if (done && code === 0) status = 'ok';
        else if (/heap out of memory|Reached heap limit|Allocation failed/i.test(stderr)) status = 'memory';
        else status = signal || code !== 0 || !done ? 'crashed' : 'ok';
      }
      const reason = status === 'ok' ? 'no result' : status === 'load_error' && loadError ? `load_error: ${loadError}` : status;
      resolve({
        outcomes: outcomes.map((o) => o ?? { ok: false, error: reason }),
        status,
        durationMs: Date.now() - started,
        stderr,
      });
    });
    child.stdin.end(JSON.stringify({ nonce, code: req.code, functionName: req.functionName, inputs: req.inputs, testTimeoutMs, maxResultChars: MAX_RESULT_CHARS }));
  });
}

/** A runner that lets at most `maxConcurrent` sandbox processes run at once (the rest queue). */
export function createSandboxRunner(opts: { maxConcurrent?: number } = {}): SandboxRunner {
  const max = Math.max(1, Math.floor(opts.maxConcurrent ?? 2));
  let active = 0;
  const queue: (() => void)[] = [];
  return async (req) => {
    if (active >= max) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await runInSandbox(req);
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
