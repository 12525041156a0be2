// The labeling web app as a child of the local stack: built once with `next build` (when no build
// exists), then served with `next start` on TUNELOOP_LABELING_PORT (default 3000). On the first start
// without TUNELOOP_ADMIN_EMAIL/PASSWORD, a local admin is made with a random password that is written
// to TUNELOOP_HOME/admin-credentials.json (mode 0600), never to the logs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@tuneloop/service-kit';
import type { Children } from './children.ts';
import { StartError } from './nats.ts';

const appDir = fileURLToPath(new URL('../../apps/labeling/', import.meta.url));
const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');

export interface LabelingOptions {
  home: string;
  natsUrl: string;
  natsPrefix: string;
  port: number;
}

/** Newest modification time under `dir` (recursively), 0 if it does not exist. */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** True when there is no build, or a source of the app (or of libs/store) is newer than it. */
function needsBuild(): boolean {
  const buildId = path.join(appDir, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return true;
  const sources = ['app', 'src', '../../libs/store/src'].map((d) => newestMtime(path.join(appDir, d)));
  return Math.max(...sources) > statSync(buildId).mtimeMs;
}

/** Admin credentials for the local app: the env's, else the ones saved on a previous first start. */
function adminCredentials(home: string): { email: string; password: string; file?: string } {
  const { TUNELOOP_ADMIN_EMAIL: email, TUNELOOP_ADMIN_PASSWORD: password } = process.env;
  if (email && password) return { email, password };
  const file = path.join(home, 'admin-credentials.json');
  if (!existsSync(file)) {
    const fresh = { email: 'admin@localhost', password: randomBytes(12).toString('base64url') };
    writeFileSync(file, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  }
  return { ...(JSON.parse(readFileSync(file, 'utf8')) as { email: string; password: string }), file };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new StartError(`labeling app: next build exited with ${code}`)),
    );
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new StartError(`labeling app: no answer at ${url} after ${timeoutMs / 1000} s`);
}

export interface RunningLabeling {
  url: string;
  adminEmail: string;
  /** the admin's password (for the demo round's API calls; never logged) */
  adminPassword: string;
  /** where the generated admin password is kept (undefined when it came from the env) */
  credentialsFile?: string;
}

/** Builds (if needed) and starts the app; resolves once it answers. */
export async function startLabeling(
  opts: LabelingOptions,
  children: Children,
  logger: Logger,
): Promise<RunningLabeling> {
  const admin = adminCredentials(opts.home);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: '1',
    TUNELOOP_HOME: opts.home,
    TUNELOOP_NATS_URL: opts.natsUrl,
    TUNELOOP_NATS_PREFIX: opts.natsPrefix,
    TUNELOOP_ADMIN_EMAIL: admin.email,
    TUNELOOP_ADMIN_PASSWORD: admin.password,
  };
  if (needsBuild()) {
    process.stderr.write('tuneloop: building the labeling app (next build, about a minute)\n');
    await run(process.execPath, [nextBin, 'build'], appDir, env);
  }
  children.spawn('labeling', process.execPath, [nextBin, 'start', '--port', String(opts.port)], {
    cwd: appDir,
    env,
  });
  const url = `http://localhost:${opts.port}`;
  await waitForHttp(`${url}/signin`, 60_000);
  logger.info({ url, admin: admin.email }, 'labeling app serving');
  return { url, adminEmail: admin.email, adminPassword: admin.password, credentialsFile: admin.file };
}
