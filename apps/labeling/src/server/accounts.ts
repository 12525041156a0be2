// Accounts and sessions: users with roles (annotator, admin), scrypt-hashed passwords, session
// tokens stored only as their SHA-256, a CSRF token per session, and the first admin from the env.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { insertUser, listUserRecords, UserExistsError, verifyPassword, type Database } from '@tuneloop/store';
import { AppError, conflict, invalid } from './errors.ts';
import { FailureLimiter } from './rate-limit.ts';

export type Role = 'admin' | 'annotator';
export interface SessionUser { id: string; email: string; role: Role }
export interface Session { user: SessionUser; csrfToken: string; expiresAt: number }

export const SESSION_TTL_MS = 7 * 24 * 3600_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function createUser(db: Kysely<Database>, email: unknown, password: unknown, role: unknown): Promise<SessionUser> {
  try {
    const u = await insertUser(db, email, password, role);
    return { id: u.id, email: u.email, role: u.role };
  } catch (err) {
    if (err instanceof UserExistsError) throw conflict(err.message);
    if (err instanceof RangeError) throw invalid(err.message);
    throw err;
  }
}

export async function listUsers(db: Kysely<Database>): Promise<(SessionUser & { createdAt: number })[]> {
  return listUserRecords(db);
}

/** Create the admin from TUNELOOP_ADMIN_EMAIL / _PASSWORD when no admin exists yet (first start). */
export async function ensureFirstAdmin(db: Kysely<Database>, email: string | undefined, password: string | undefined): Promise<SessionUser | null> {
  if (!email || !password) return null;
  const admin = await db.selectFrom('users').select('id').where('role', '=', 'admin').executeTakeFirst();
  if (admin) return null;
  try {
    return await createUser(db, email, password, 'admin');
  } catch (err) {
    if (err instanceof AppError && err.code === 'CONFLICT') return null;
    throw err;
  }
}

export class Authenticator {
  private readonly perAccount: FailureLimiter;
  private readonly perAddress: FailureLimiter;
  constructor(
    private readonly db: Kysely<Database>,
    maxFailures = 5,
  ) {
    this.perAccount = new FailureLimiter(maxFailures, 15 * 60_000);
    this.perAddress = new FailureLimiter(maxFailures * 10, 15 * 60_000);
  }

  /** Check the password (rate-limited); returns a new session token (for the cookie) and the session. */
  async signIn(email: unknown, password: unknown, address: string): Promise<{ token: string; session: Session }> {
    const e = typeof email === 'string' ? email.trim().toLowerCase() : '';
    // Per account whatever the address (addresses come from X-Forwarded-For, which a client can
    // forge), plus a looser limit per address.
    const accountKey = `account:${e}`;
    const wait = Math.max(this.perAccount.retryAfterS(accountKey), this.perAddress.retryAfterS(address));
    if (wait > 0) throw new AppError('RESOURCE_EXHAUSTED', `too many failed sign-ins: try again in ${wait} s`, { retryAfterS: wait });
    const row = e ? await this.db.selectFrom('users').selectAll().where('email', '=', e).executeTakeFirst() : undefined;
    const ok = row && typeof password === 'string' ? await verifyPassword(password, row.password_hash) : false;
    if (!row || !ok) {
      this.perAccount.fail(accountKey);
      this.perAddress.fail(address);
      throw new AppError('UNAUTHENTICATED', 'wrong e-mail or password');
    }
    this.perAccount.reset(accountKey);
    await this.db.deleteFrom('sessions').where('expires_at', '<=', Date.now()).execute();
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: Session = { user: { id: row.id, email: row.email, role: row.role }, csrfToken: randomBytes(24).toString('base64url'), expiresAt: now + SESSION_TTL_MS };
    await this.db.insertInto('sessions').values({ id: sha256(token), user_id: row.id, csrf_token: session.csrfToken, created_at: now, expires_at: session.expiresAt }).execute();
    return { token, session };
  }

  async lookup(token: string | undefined): Promise<Session | null> {
    if (!token || token.length > 100) return null;
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.id as id', 'users.email as email', 'users.role as role', 'sessions.csrf_token as csrf', 'sessions.expires_at as expires_at'])
      .where('sessions.id', '=', sha256(token))
      .executeTakeFirst();
    if (!row || row.expires_at <= Date.now()) return null;
    return { user: { id: row.id, email: row.email, role: row.role }, csrfToken: row.csrf, expiresAt: row.expires_at };
  }

  async signOut(token: string | undefined): Promise<void> {
    if (token) await this.db.deleteFrom('sessions').where('id', '=', sha256(token)).execute();
  }
}
