// POST (body: JSONL text): import comparisons into a project (admin). All or nothing; errors name lines.
import { importComparisons } from '../../../../../src/server/projects.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => importComparisons(ctx.store.db, (await params).id, await req.text()));
}
