// Renders the Markdown AST of lib/markdown.ts as React elements. No dangerouslySetInnerHTML: every
// piece of text is escaped by React, links are limited to http(s) and mailto, so content is inert.
import { Fragment, type ReactNode } from 'react';
import { parseMarkdown, type Block, type Inline } from '../lib/markdown.ts';

function inline(nodes: Inline[]): ReactNode[] {
  return nodes.map((n, i) => {
    switch (n.type) {
      case 'text': return <Fragment key={i}>{n.text}</Fragment>;
      case 'code': return <code key={i}>{n.text}</code>;
      case 'strong': return <strong key={i}>{inline(n.children)}</strong>;
      case 'em': return <em key={i}>{inline(n.children)}</em>;
      case 'link': return <a key={i} href={n.href} target="_blank" rel="noopener noreferrer nofollow">{inline(n.children)}</a>;
      case 'br': return <br key={i} />;
    }
  });
}

function block(b: Block, i: number): ReactNode {
  switch (b.type) {
    case 'heading': {
      const H = `h${Math.min(6, b.level + 2)}` as 'h3';
      return <H key={i}>{inline(b.children)}</H>;
    }
    case 'paragraph': return <p key={i}>{inline(b.children)}</p>;
    case 'code':
      return (
        <pre key={i} className="code" data-lang={b.lang || undefined}>
          <code>{b.tokens.map((t, j) => (t.kind === 'plain' ? <Fragment key={j}>{t.text}</Fragment> : <span key={j} className={`tok-${t.kind}`}>{t.text}</span>))}</code>
        </pre>
      );
    case 'list': {
      const L = b.ordered ? 'ol' : 'ul';
      return <L key={i}>{b.items.map((it, j) => <li key={j}>{inline(it)}</li>)}</L>;
    }
    case 'quote': return <blockquote key={i}>{b.children.map(block)}</blockquote>;
    case 'hr': return <hr key={i} />;
  }
}

export function Markdown({ source, className }: { source: string; className?: string }) {
  return <div className={`md ${className ?? ''}`}>{parseMarkdown(source).map(block)}</div>;
}
