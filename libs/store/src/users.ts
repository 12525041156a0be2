// Accounts of the labeling app at the storage level (shared by the web app and the CLI): validated
// e-mail, password policy, scrypt hash, role. Errors name the field.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { checkPasswordPolicy, hashPassword } from './passwords.ts';

export type UserRole = 'admin' | 'annotator';
export interface UserRecord { id: string; email: string; role: UserRole; createdAt: number }

const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export class UserExistsError extends Error {
  override name = 'UserExistsError';
}

export function normaliseEmail(email: unknown): string {
  if (typeof email !== 'string' || !EMAIL_RE.test(email.trim())) throw new RangeError(`email: must be an e-mail address, got ${JSON.stringify(String(email).slice(0, 80))}`);
  return email.trim().toLowerCase();
}

/** Create an account; RangeError for bad input, UserExistsError when the e-mail is taken. */
export async function insertUser(db: Kysely<Database>, email: unknown, password: unknown, role: unknown): Promise<UserRecord> {
  const e = normaliseEmail(email);
  if (role !== 'admin' && role !== 'annotator') throw new RangeError(`role: must be admin or annotator, got ${JSON.stringify(role)}`);
  const pw = checkPasswordPolicy(password);
  const exists = await db.selectFrom('users').select('id').where('email', '=', e).executeTakeFirst();
  if (exists) throw new UserExistsError(`email: ${e} already has an account`);
  const user: UserRecord = { id: randomUUID(), email: e, role, createdAt: Date.now() };
  await db.insertInto('users').values({ id: user.id, email: e, role, password_hash: await hashPassword(pw), created_at: user.createdAt }).execute();
  return user;
}

export async function listUserRecords(db: Kysely<Database>): Promise<UserRecord[]> {
  const rows = await db.selectFrom('users').select(['id', 'email', 'role', 'created_at']).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, email: r.email, role: r.role, createdAt: r.created_at }));
}
