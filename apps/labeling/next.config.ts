// Next.js configuration of the labeling app. The app imports workspace libraries from TypeScript
// source (tsconfig path aliases); native / server-only packages stay external.
import type { NextConfig } from 'next';
import path from 'node:path';

const config: NextConfig = {
  // Type-checking runs in `npm run typecheck` / the project's lint target, not in every build.
  typescript: { ignoreBuildErrors: true },
  serverExternalPackages: ['better-sqlite3', 'pg', '@nats-io/transport-node', '@nats-io/nats-core', '@nats-io/jetstream', '@nats-io/kv', '@nats-io/obj'],
  poweredByHeader: false,
  turbopack: { root: path.resolve(import.meta.dirname, '../..') },
  outputFileTracingRoot: path.resolve(import.meta.dirname, '../..'),
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default config;
