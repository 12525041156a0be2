// `tuneloop labeling ...`: accounts of the labeling app, straight on its database
// (TUNELOOP_DATABASE_URL, or the SQLite file under TUNELOOP_HOME): create-admin, create-user, users.
import type { Command } from 'commander';
import { CliError, emit, table } from '../output.ts';

async function withStore<T>(fn: (store: typeof import('@tuneloop/store'), db: import('kysely').Kysely<import('@tuneloop/store').Database>) => Promise<T>): Promise<T> {
  const lib = await import('@tuneloop/store');
  const store = await lib.openStore(lib.storeOptionsFromEnv());
  try {
    return await fn(lib, store.db);
  } catch (err) {
    if (err instanceof RangeError || err instanceof lib.UserExistsError) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

export function register(program: Command): void {
  const g = program.command('labeling').description('labeling app accounts (on the database the app uses)');

  const addUser = (name: string, fixedRole: 'admin' | null, description: string) =>
    g.command(name)
      .description(description)
      .requiredOption('--email <email>', 'e-mail address (the sign-in name)')
      .option('--password <password>', 'password, 10+ characters (default: TUNELOOP_ADMIN_PASSWORD)')
      .option('--role <role>', 'admin or annotator', 'annotator')
      .option('--json', 'JSON output')
      .action(async (o: { email: string; password?: string; role: string; json?: boolean }) => {
        const password = o.password ?? process.env.TUNELOOP_ADMIN_PASSWORD;
        if (!password) throw new CliError('password: pass --password or set TUNELOOP_ADMIN_PASSWORD');
        const user = await withStore((lib, db) => lib.insertUser(db, o.email, password, fixedRole ?? o.role));
        emit(!!o.json, user, (u) => `created ${u.role} ${u.email} (${u.id})`);
      });
  addUser('create-admin', 'admin', 'create an admin account (e.g. the first admin of a new install)');
  addUser('create-user', null, 'create an annotator (or, with --role admin, an admin) account');

  g.command('users')
    .description('list accounts')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const users = await withStore((lib, db) => lib.listUserRecords(db));
      emit(!!o.json, users, (us) => table(['email', 'role', 'created'], us.map((u) => [u.email, u.role, new Date(u.createdAt).toISOString()])));
    });
}
