import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown } from './markdown.ts';
import { highlight } from './highlight.ts';

describe('markdown', () => {
  it('parses headings, lists, code fences and inline markup', () => {
    const blocks = parseMarkdown('# Title\n\nSome **bold** and *em* and `x<y`.\n\n- a\n- b\n\n```js\nconst x = 1; // hi\n```\n> quoted');
    expect(blocks.map((b) => b.type)).toEqual(['heading', 'paragraph', 'list', 'code', 'quote']);
    expect(parseInline('**b** *e* `c` [l](https://x.org)')).toEqual([
      { type: 'strong', children: [{ type: 'text', text: 'b' }] },
      { type: 'text', text: ' ' },
      { type: 'em', children: [{ type: 'text', text: 'e' }] },
      { type: 'text', text: ' ' },
      { type: 'code', text: 'c' },
      { type: 'text', text: ' ' },
      { type: 'link', href: 'https://x.org', children: [{ type: 'text', text: 'l' }] },
    ]);
  });
  it('keeps raw HTML and unsafe links as plain text', () => {
    expect(parseMarkdown('<script>alert(1)</script>')).toEqual([{ type: 'paragraph', children: [{ type: 'text', text: '<script>alert(1)</script>' }] }]);
    expect(parseInline('[x](javascript:alert(1))')[0]).toEqual({ type: 'text', text: '[x](javascript:alert(1)' });
  });
  it('highlights keywords, strings, numbers and comments', () => {
    const toks = highlight('const s = "a"; // c\nreturn 42', 'ts');
    const kinds = toks.filter((t) => t.kind !== 'plain').map((t) => `${t.kind}:${t.text}`);
    expect(kinds).toEqual(['keyword:const', 'string:"a"', 'comment:// c', 'keyword:return', 'number:42']);
    expect(highlight('x = 1 # note', 'python').at(-1)).toEqual({ kind: 'comment', text: '# note' });
    expect(toks.map((t) => t.text).join('')).toBe('const s = "a"; // c\nreturn 42');
  });
});

describe('markdown emphasis rules', () => {
  it('does not treat intraword underscores as emphasis', () => {
    expect(parseInline('window.__pwned=1 and snake_case_name')).toEqual([{ type: 'text', text: 'window.__pwned=1 and snake_case_name' }]);
    expect(parseInline('__strong__ _em_')).toEqual([
      { type: 'strong', children: [{ type: 'text', text: 'strong' }] },
      { type: 'text', text: ' ' },
      { type: 'em', children: [{ type: 'text', text: 'em' }] },
    ]);
  });
});
