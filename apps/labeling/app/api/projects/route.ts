// GET: projects (any signed-in user); POST {name, guidelines, annotatorsPerItem, k}: create (admin).
import { createProject, listProjects } from '../../../src/server/projects.ts';
import { readJson, withSession } from '../../../src/server/http.ts';

export async function GET(req: Request): Promise<Response> {
  return withSession(req, 'annotator', async ({ ctx }) => ({ projects: await listProjects(ctx.store.db) }));
}

export async function POST(req: Request): Promise<Response> {
  return withSession(req, 'admin', async ({ ctx }) => {
    const b = await readJson(req);
    return { project: await createProject(ctx.store.db, { name: b.name, guidelines: b.guidelines, annotatorsPerItem: b.annotatorsPerItem, k: b.k }) };
  });
}
