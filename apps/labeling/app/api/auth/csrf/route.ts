// GET: a pre-session CSRF token (double-submit cookie) for the sign-in form.
import { randomBytes } from 'node:crypto';
import { cookieHeader, PRESESSION_CSRF_COOKIE } from '../../../../src/server/http.ts';

export const dynamic = 'force-dynamic';

export async function GET(req: Request): Promise<Response> {
  const token = randomBytes(24).toString('base64url');
  return Response.json({ csrfToken: token }, { headers: { 'set-cookie': cookieHeader(req, PRESESSION_CSRF_COOKIE, token, 3600), 'cache-control': 'no-store' } });
}
