// @tuneloop/store: Kysely schema and migrations (SQLite default, PostgreSQL in production).
export {};
