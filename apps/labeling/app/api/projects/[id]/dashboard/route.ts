// GET: the project's dashboard figures as JSON (admin).
import { projectDashboard } from '../../../../../src/server/dashboard.ts';
import { getProject } from '../../../../../src/server/projects.ts';
import { withSession } from '../../../../../src/server/http.ts';

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => {
    const id = (await params).id;
    await getProject(ctx.store.db, id);
    return projectDashboard(ctx.store.db, id);
  });
}
