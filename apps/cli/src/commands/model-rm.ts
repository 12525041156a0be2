// `tuneloop model rm REF`: deletes a model version (name@version; name@latest) or, with --adapter, an
// adapter version; blobs no other version uses are removed.
import type { Command } from 'commander';
import type { DescribeModelResponse, ListAdaptersResponse } from '@tuneloop/proto';
import { emit } from '../output.ts';
import { call } from './model-ls.ts';

export function registerRm(model: Command): void {
  model
    .command('rm')
    .description('Delete a model version from the model store')
    .argument('<ref>', 'name@version (name or name@latest: the newest version)')
    .option('--adapter', 'REF names an adapter')
    .option('--json', 'print { deleted } as JSON')
    .action(async (text: string, opts: { adapter?: boolean; json?: boolean }) => {
      const { connectStore, parseRef } = await import('@tuneloop/model-store');
      const ref = parseRef(text);
      const client = await connectStore();
      try {
        const wire = { name: ref.name, version: ref.version ?? '' };
        let deleted: string;
        if (opts.adapter) {
          const a = await call<ListAdaptersResponse>((cb) => client.listAdapters({ pageSize: 1000, pageToken: '', baseModelName: '' }, cb));
          const found = a.adapters.filter((x) => x.ref?.name === ref.name && (!ref.version || x.ref?.version === ref.version));
          deleted = found[0] ? `${ref.name}@${found[0].ref?.version}` : `${ref.name}@${ref.version ?? 'latest'}`;
          await call((cb) => client.deleteAdapter({ ref: wire }, cb));
        } else {
          const m = await call<DescribeModelResponse>((cb) => client.describeModel({ ref: wire }, cb));
          deleted = `${m.model?.ref?.name}@${m.model?.ref?.version}`;
          await call((cb) => client.deleteModel({ ref: { name: ref.name, version: m.model?.ref?.version ?? '' } }, cb));
        }
        emit(!!opts.json, { deleted }, (v) => `deleted ${v.deleted}`);
      } finally {
        client.close();
      }
    });
}
