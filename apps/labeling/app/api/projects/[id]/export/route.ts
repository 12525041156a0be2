// GET ?format=jsonl|csv&round=&minAgreement=: preference pairs as TRL JSONL or CSV (admin).
import { exportPairs, parseExportFilter, renderExport } from '../../../../../src/server/export.ts';
import { invalid } from '../../../../../src/server/errors.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => {
    const q = new URL(req.url).searchParams;
    const format = q.get('format') ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') throw invalid(`format: must be jsonl or csv, got ${JSON.stringify(format)}`);
    const filter = parseExportFilter({ projectId: (await params).id, round: q.get('round'), minAgreement: q.get('minAgreement') });
    const body = renderExport(await exportPairs(ctx.store.db, filter), format);
    return new Response(body, {
      headers: {
        'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8',
        'content-disposition': `attachment; filename="preferences-${filter.projectId}${filter.round ? `-r${filter.round}` : ''}.${format}"`,
        'cache-control': 'no-store',
      },
    });
  });
}
