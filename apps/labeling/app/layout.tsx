// Root layout of the labeling app.
import type { ReactNode } from 'react';
import './globals.css';

export const metadata = { title: 'tuneloop labeling', description: 'Rank model responses into preference pairs.' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#content">Skip to content</a>
        <div id="content">{children}</div>
      </body>
    </html>
  );
}
