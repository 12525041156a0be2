// `tuneloop doctor [--json]`: is this machine ready? tfjs backend, NATS + JetStream, database,
// gRPC health of the six services at TUNELOOP_GRPC_ADDR, versions. Non-zero exit when something is down.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError, emit, table } from '../output.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The six services, by folder name, with their fully-qualified gRPC names. */
export const SERVICES: Record<string, string> = {
  'model-store': 'tuneloop.v1.ModelStoreService',
  'adapter-trainer': 'tuneloop.v1.AdapterTrainerService',
  'reward-model': 'tuneloop.v1.RewardModelService',
  rollout: 'tuneloop.v1.RolloutService',
  'preference-optimizer': 'tuneloop.v1.PreferenceOptimizerService',
  rounds: 'tuneloop.v1.RoundsService',
};

export interface DoctorReport {
  ok: boolean;
  /** one short phrase per thing that is down */
  problems: string[];
  backend: { selected: string; available: string[]; reason: string };
  nats: { url: string; reachable: boolean; jetstream: boolean; serverVersion?: string; error?: string };
  database: { kind: 'postgres' | 'sqlite'; target: string; ok: boolean; detail: string };
  grpcTarget: string;
  services: Record<string, 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNREACHABLE'>;
  versions: Record<string, string>;
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

function version(pkg: string): string {
  const file = path.join(root, 'node_modules', pkg, 'package.json');
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
    : 'not installed';
}

async function checkDatabase(
  databaseUrl: string | undefined,
  home: string,
): Promise<DoctorReport['database']> {
  if (databaseUrl && /^postgres(ql)?:/.test(databaseUrl)) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return { kind: 'postgres', target: redact(databaseUrl), ok: true, detail: 'select 1 answered' };
    } catch (err) {
      return {
        kind: 'postgres',
        target: redact(databaseUrl),
        ok: false,
        detail: redact((err as Error).message),
      };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const file = databaseUrl
    ? path.resolve(databaseUrl.replace(/^sqlite:/, ''))
    : path.join(home, 'tuneloop.db');
  let dir = existsSync(file) ? file : path.dirname(file);
  while (!existsSync(dir)) dir = path.dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    const detail = dir === file ? 'file is writable' : `will be created (${dir} is writable)`;
    return { kind: 'sqlite', target: file, ok: true, detail };
  } catch {
    return { kind: 'sqlite', target: file, ok: false, detail: `${dir} is not writable` };
  }
}

export async function runDoctor(): Promise<DoctorReport> {
  const [{ loadConfig, grpcTarget, probeHealth }, { natsStatus }, { describeBackends }] = await Promise.all([
    import('@tuneloop/service-kit'),
    import('@tuneloop/bus'),
    import('@tuneloop/engine'),
  ]);
  const config = loadConfig();
  const target = grpcTarget(config.grpcHost, config.grpcPort);
  const [backend, nats, database, health] = await Promise.all([
    describeBackends(),
    natsStatus(config.natsUrl, 2000),
    checkDatabase(config.databaseUrl, config.home),
    probeHealth(target, Object.values(SERVICES), 2000),
  ]);
  const services = Object.fromEntries(Object.entries(SERVICES).map(([name, fq]) => [name, health[fq]]));
  const problems: string[] = [];
  if (!backend.available.includes(backend.selected)) problems.push(`tfjs backend: ${backend.reason}`);
  if (!nats.reachable) problems.push(`NATS unreachable at ${redact(config.natsUrl)}`);
  else if (!nats.jetstream) problems.push(`NATS at ${redact(config.natsUrl)} has no JetStream`);
  if (!database.ok) problems.push(`database: ${database.detail}`);
  const down = Object.entries(services).filter(([, s]) => s !== 'SERVING');
  if (down.length === Object.keys(services).length && down.every(([, s]) => s === 'UNREACHABLE')) {
    problems.push(`no services answer at ${target} (start them with \`npm start\`)`);
  } else if (down.length > 0) {
    problems.push(`services not serving at ${target}: ${down.map(([n, s]) => `${n} ${s}`).join(', ')}`);
  }
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    ok: problems.length === 0,
    problems,
    backend,
    nats: { url: redact(config.natsUrl), ...nats },
    database,
    grpcTarget: target,
    services,
    versions: {
      tuneloop: pkg.version,
      node: process.versions.node,
      '@grpc/grpc-js': version('@grpc/grpc-js'),
      '@nats-io/nats-core': version('@nats-io/nats-core'),
      '@tensorflow/tfjs-core': version('@tensorflow/tfjs-core'),
      'nats-server': nats.serverVersion ?? 'unknown',
    },
  };
}

function human(r: DoctorReport): string {
  const mark = (ok: boolean) => (ok ? 'ok' : 'DOWN');
  const rows: string[][] = [
    [
      'backend',
      'ok',
      `${r.backend.selected} (${r.backend.reason}; available: ${r.backend.available.join(', ') || 'none'})`,
    ],
    [
      'nats',
      mark(r.nats.reachable && r.nats.jetstream),
      `${r.nats.url} ${r.nats.reachable ? `v${r.nats.serverVersion}, jetstream ${r.nats.jetstream ? 'on' : 'off'}` : (r.nats.error ?? '')}`,
    ],
    ['database', mark(r.database.ok), `${r.database.kind} ${r.database.target}: ${r.database.detail}`],
    ...Object.entries(r.services).map(([name, s]) => [
      `service ${name}`,
      mark(s === 'SERVING'),
      `${s} at ${r.grpcTarget}`,
    ]),
    [
      'versions',
      '',
      Object.entries(r.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
  ];
  return table(['CHECK', 'STATUS', 'DETAIL'], rows);
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check the tfjs backend, NATS, the database and the gRPC services (TUNELOOP_* variables)')
    .option('--json', 'print one JSON object (for scripts)')
    .action(async (opts: { json?: boolean }) => {
      const report = await runDoctor();
      emit(Boolean(opts.json), report, human);
      if (!report.ok) throw new CliError(report.problems.join('; '));
    });
}
