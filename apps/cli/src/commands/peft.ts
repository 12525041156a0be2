// `tuneloop peft ...`: plan a fine-tuning run from a config.json alone (trainable / total parameters per
// module and in total, AdamW memory), and list the PEFT methods. Reading files happens here; counting is in @tuneloop/peft.
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError, emit, table } from '../output.ts';

interface PlanOpts {
  model?: string;
  config?: string;
  shape?: string;
  method: string;
  rank?: string;
  targets?: string;
  methodConfig?: string;
  perModule?: boolean;
  json?: boolean;
}

function readJson(file: string, what: string): Record<string, unknown> {
  if (!existsSync(file)) throw new CliError(`${what}: no such file ${file}`);
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('must be a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CliError(`${what}: ${file} is not a valid JSON object (${(e as Error).message})`);
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

async function plan(o: PlanOpts): Promise<void> {
  const peft = await import('@tuneloop/peft');
  const sources = [o.model, o.config, o.shape].filter((s) => s !== undefined).length;
  if (sources !== 1) throw new CliError('peft plan: give exactly one of --model DIR, --config config.json, --shape OUTxIN');
  let shapes;
  let source: string;
  if (o.shape) {
    const m = /^(\d+)x(\d+)$/.exec(o.shape);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new CliError(`--shape: must be OUTxIN with positive integers (e.g. 4096x4096), got '${o.shape}'`);
    shapes = peft.singleMatrixShapes(Number(m[1]), Number(m[2]));
    source = `one ${m[1]} x ${m[2]} matrix`;
  } else {
    const file = o.model ? path.join(o.model, 'config.json') : (o.config as string);
    if (o.model && (!existsSync(o.model) || !statSync(o.model).isDirectory())) throw new CliError(`--model: not a directory: ${o.model}`);
    try {
      shapes = peft.llamaShapes(peft.shapeConfigFromJson(readJson(file, o.model ? '--model' : '--config')));
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError((e as Error).message);
    }
    source = file;
  }
  let rank: number | undefined;
  if (o.rank !== undefined) {
    rank = Number(o.rank);
    if (!Number.isInteger(rank) || rank < 1) throw new CliError(`--rank: must be an integer >= 1, got ${o.rank}`);
  }
  let targets = o.targets?.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (o.shape && !targets) targets = ['weight'];
  const config = o.methodConfig ? readJson(o.methodConfig, '--method-config') : undefined;
  if (config && (rank !== undefined || targets !== undefined) && !o.shape) throw new CliError('--method-config: give the rank and targets inside it, not with --rank / --targets');
  let result;
  try {
    result = peft.planPeft(shapes, o.method, { config, rank, targets });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  emit(!!o.json, { source, ...result }, (p) => {
    const pct = (t: number, n: number) => (n === 0 ? 0 : (100 * t) / n).toFixed(4);
    const rows = o.perModule
      ? p.modules.map((r) => [r.module, 1, fmt(r.trainable), fmt(r.total), pct(r.trainable, r.total)])
      : p.groups.map((g) => [g.kind, g.count, fmt(g.trainable), fmt(g.total), pct(g.trainable, g.total)]);
    const m = p.optimizerMemory;
    return [
      `peft plan: ${p.method} on ${p.source}`,
      table(['module', 'count', 'trainable', 'all params', 'trainable %'], rows),
      '',
      `trainable params: ${fmt(p.trainable)} || all params: ${fmt(p.total)} || trainable%: ${p.percent.toFixed(4)}`,
      `optimizer memory (AdamW, fp32): ${bytes(m.totalBytes)} = gradients ${bytes(m.gradientBytes)} + moments ${bytes(m.adamStateBytes)}`,
    ].join('\n');
  });
}

async function methods(o: { json?: boolean }): Promise<void> {
  const peft = await import('@tuneloop/peft');
  const list = peft.listPeftMethods().map((m) => ({ name: m.name, peftType: m.peftType, mergeable: m.mergeable, description: m.description }));
  emit(!!o.json, list, (l) => table(['method', 'peft_type', 'merge', 'description'], l.map((m) => [m.name, m.peftType ?? '-', m.mergeable ? 'yes' : 'no', m.description])));
}

export function register(program: Command): void {
  const peft = program.command('peft').description('Parameter-efficient fine-tuning: plan a run, list methods');
  peft
    .command('plan')
    .description('Trainable / total parameters and AdamW memory for a method, from config.json alone (no weights)')
    .option('--model <dir>', 'a Hugging Face model folder (its config.json is read)')
    .option('--config <file>', 'a config.json')
    .option('--shape <OUTxIN>', 'plan for a single weight matrix, e.g. 4096x4096')
    .requiredOption('--method <name>', 'full, partial, lora, qlora, dora, vera or adalora')
    .option('--rank <r>', 'adapter rank (LoRA-family r, VeRA r, AdaLoRA init_r)')
    .option('--targets <a,b>', 'target modules (q_proj,v_proj or all-linear; partial: modules that train)')
    .option('--method-config <file>', "the method's config as JSON with PEFT field names (r, lora_alpha, target_modules, ...)")
    .option('--per-module', 'one row per module instead of per module kind (JSON always has both)')
    .option('--json', 'print JSON')
    .action((o: PlanOpts) => plan(o));
  peft
    .command('methods')
    .description('List the registered PEFT methods')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => methods(o));
}
