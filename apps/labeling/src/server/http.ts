// Guards for API route handlers: session from the httpOnly cookie, role check, CSRF token on every
// mutation (and a same-origin check), JSON errors that never leak internals.
import { timingSafeEqual } from 'node:crypto';
import { AppError, isAppError } from './errors.ts';
import { getContext, type AppContext } from './context.ts';
import type { Role, Session } from './accounts.ts';

export const SESSION_COOKIE = 'tl_session';
export const PRESESSION_CSRF_COOKIE = 'tl_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function isHttps(req: Request): boolean {
  return new URL(req.url).protocol === 'https:' || req.headers.get('x-forwarded-proto') === 'https';
}

export function cookieHeader(req: Request, name: string, value: string, maxAgeS: number): string {
  return `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${isHttps(req) ? '; Secure' : ''}`;
}

export function clientAddress(req: Request): string {
  return req.headers.get('x-forwarded-for')?.split(',')[0].trim() || req.headers.get('x-real-ip') || 'local';
}

export function tokensEqual(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Refuse cross-site mutations outright (Origin / Sec-Fetch-Site), before any token check. */
export function checkSameOrigin(req: Request): void {
  if (req.headers.get('sec-fetch-site') === 'cross-site') throw new AppError('PERMISSION_DENIED', 'cross-site request refused');
  const origin = req.headers.get('origin');
  if (origin && origin !== 'null') {
    const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host');
    if (new URL(origin).host !== host) throw new AppError('PERMISSION_DENIED', 'cross-origin request refused');
  }
}

export function errorResponse(err: unknown): Response {
  if (isAppError(err)) {
    const headers: Record<string, string> = {};
    if (err.details?.retryAfterS) headers['retry-after'] = String(err.details.retryAfterS);
    return Response.json({ error: { code: err.code, message: err.message, ...(err.details?.errors ? { errors: err.details.errors } : {}) } }, { status: err.status, headers });
  }
  console.error('labeling: internal error', err);
  return Response.json({ error: { code: 'INTERNAL', message: 'internal error' } }, { status: 500 });
}

export interface Handled { ctx: AppContext; session: Session; req: Request }

/**
 * Run `fn` for a signed-in user with `role` (admin may do everything an annotator may). Mutations
 * need the session's CSRF token in the x-csrf-token header.
 */
export async function withSession(req: Request, role: Role, fn: (h: Handled) => Promise<Response | unknown>): Promise<Response> {
  try {
    const mutation = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
    if (mutation) checkSameOrigin(req);
    const ctx = await getContext();
    const session = await ctx.auth.lookup(readCookie(req, SESSION_COOKIE));
    if (!session) throw new AppError('UNAUTHENTICATED', 'sign in first');
    if (mutation && !tokensEqual(req.headers.get(CSRF_HEADER), session.csrfToken)) throw new AppError('PERMISSION_DENIED', 'CSRF token missing or wrong');
    if (role === 'admin' && session.user.role !== 'admin') throw new AppError('PERMISSION_DENIED', 'admin role required');
    const out = await fn({ ctx, session, req });
    return out instanceof Response ? out : Response.json(out ?? { ok: true });
  } catch (err) {
    return errorResponse(err);
  }
}

export async function readJson(req: Request): Promise<Record<string, unknown>> {
  try {
    const v = await req.json();
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new AppError('INVALID_ARGUMENT', 'body: must be a JSON object');
  }
}
