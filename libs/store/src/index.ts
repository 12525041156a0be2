// @tuneloop/store: Kysely schema and migrations (SQLite default, PostgreSQL in production), and loadPreferencePairs,
// the preference-pair reader shared by the training services (JSONL files and labeling:// pairs; see README.md).
export { openStore, storeOptionsFromEnv, isPostgresUrl, dropPostgresSchema } from './connect.ts';
export type { Store, StoreOptions, StoreDialect } from './connect.ts';
export { migrateToLatest, migrations } from './migrate.ts';
export type {
  Database,
  UsersTable,
  SessionsTable,
  ProjectsTable,
  ComparisonsTable,
  AssignmentsTable,
  RankingsTable,
  PreferencePairsTable,
  OutboxTable,
} from './schema.ts';
export { openTestStore, TEST_PG_URL } from './test-stores.ts';
export type { TestStore } from './test-stores.ts';
export { hashPassword, verifyPassword, checkPasswordPolicy, PASSWORD_MIN_LENGTH } from './passwords.ts';
export { insertUser, listUserRecords, normaliseEmail, UserExistsError } from './users.ts';
export type { UserRecord, UserRole } from './users.ts';
export {
  loadPreferencePairs,
  loadKtoExamples,
  parseSourceUri,
  PreferenceSourceError,
  MAX_PREFERENCE_FILE_BYTES,
} from './preference-source.ts';
export type {
  SourcedPreference,
  LabelingPairOrigin,
  PreferenceSource,
  PreferenceSourceOptions,
  PreferenceSourceStatus,
  LoadedPreferencePairs,
  LoadedKtoExamples,
  SourceRef,
  StoreFileRef,
  FetchStoreFile,
} from './preference-source.ts';
