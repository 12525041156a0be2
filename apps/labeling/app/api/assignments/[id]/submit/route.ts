// POST {ranking, bothBad?, strength?, comment?, durationMs?}: submit a ranking for a leased item.
import { submitRanking } from '../../../../../src/server/submissions.ts';
import { readJson, withSession } from '../../../../../src/server/http.ts';

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'annotator', async ({ ctx, session }) => {
    const b = await readJson(req);
    const out = await submitRanking(ctx.store.db, session.user.id, { ...b, ranking: b.ranking, assignmentId: (await params).id }, { undoGraceMs: ctx.config.undoGraceMs });
    ctx.relay?.nudge();
    return out;
  });
}
