// Next.js start hook: open the database (migrations), create the first admin from the env, and start
// the outbox relay, when the server starts (not during `next build`).
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs' || process.env.NEXT_PHASE === 'phase-production-build') return;
  const { getContext } = await import('./src/server/context.ts');
  await getContext();
}
