// POST {email, password}: sign in (rate-limited), needs the pre-session CSRF token; sets the session cookie.
import { AppError } from '../../../../src/server/errors.ts';
import { getContext } from '../../../../src/server/context.ts';
import { checkSameOrigin, clientAddress, cookieHeader, CSRF_HEADER, errorResponse, PRESESSION_CSRF_COOKIE, readCookie, readJson, SESSION_COOKIE, tokensEqual } from '../../../../src/server/http.ts';
import { SESSION_TTL_MS } from '../../../../src/server/accounts.ts';

export async function POST(req: Request): Promise<Response> {
  try {
    checkSameOrigin(req);
    if (!tokensEqual(req.headers.get(CSRF_HEADER), readCookie(req, PRESESSION_CSRF_COOKIE))) throw new AppError('PERMISSION_DENIED', 'CSRF token missing or wrong');
    const body = await readJson(req);
    const ctx = await getContext();
    const { token, session } = await ctx.auth.signIn(body.email, body.password, clientAddress(req));
    const headers = new Headers();
    headers.append('set-cookie', cookieHeader(req, SESSION_COOKIE, token, SESSION_TTL_MS / 1000));
    headers.append('set-cookie', cookieHeader(req, PRESESSION_CSRF_COOKIE, '', 0));
    return Response.json({ user: session.user, csrfToken: session.csrfToken }, { headers });
  } catch (err) {
    return errorResponse(err);
  }
}
