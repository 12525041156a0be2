// A small CommonMark-subset parser to an AST (headings, paragraphs, fenced code, lists, block quotes,
// rules; inline code, strong, emphasis, links). Raw HTML is never interpreted: it stays text, and the
// React renderer escapes all text, so prompts and responses render inert.
import { highlight, type CodeToken } from './highlight.ts';

export type Inline =
  | { type: 'text'; text: string }
  | { type: 'code'; text: string }
  | { type: 'strong' | 'em'; children: Inline[] }
  | { type: 'link'; href: string; children: Inline[] }
  | { type: 'br' };

export type Block =
  | { type: 'heading'; level: number; children: Inline[] }
  | { type: 'paragraph'; children: Inline[] }
  | { type: 'code'; lang: string; tokens: CodeToken[] }
  | { type: 'list'; ordered: boolean; items: Inline[][] }
  | { type: 'quote'; children: Block[] }
  | { type: 'hr' };

const SAFE_URL = /^(https?:\/\/|mailto:)/i;

export function parseMarkdown(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s{0,3}(```|~~~)\s*([\w+#.-]*)/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      blocks.push({ type: 'code', lang: fence[2].toLowerCase(), tokens: highlight(body.join('\n'), fence[2]) });
      continue;
    }
    if (line.trim() === '') { i++; continue; }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) { blocks.push({ type: 'heading', level: heading[1].length, children: parseInline(heading[2]) }); i++; continue; }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { blocks.push({ type: 'hr' }); i++; continue; }
    if (/^\s{0,3}>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) body.push(lines[i++].replace(/^\s{0,3}>\s?/, ''));
      blocks.push({ type: 'quote', children: parseMarkdown(body.join('\n')) });
      continue;
    }
    const item = /^\s{0,3}([-*+]|\d{1,9}[.)])\s+/;
    const m = item.exec(line);
    if (m) {
      const ordered = /\d/.test(m[1]);
      const items: Inline[][] = [];
      while (i < lines.length) {
        const mm = item.exec(lines[i]);
        if (mm && /\d/.test(mm[1]) === ordered) {
          const text = [lines[i].slice(mm[0].length)];
          i++;
          while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !item.test(lines[i])) text.push(lines[i++].trim());
          items.push(parseInline(text.join(' ')));
        } else break;
      }
      blocks.push({ type: 'list', ordered, items });
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && !/^\s{0,3}(```|~~~|#{1,6}\s|>)/.test(lines[i]) && !item.test(lines[i])) para.push(lines[i++]);
    if (para.length === 0) para.push(lines[i++]);
    blocks.push({ type: 'paragraph', children: parseInline(para.join('\n')) });
  }
  return blocks;
}

export function parseInline(src: string): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = () => { if (text) { out.push({ type: 'text', text }); text = ''; } };
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest))) {
      flush(); out.push({ type: 'code', text: m[2].trim() === '' ? m[2] : m[2].replace(/^ (.*) $/s, '$1') }); i += m[0].length; continue;
    }
    if ((m = /^\\([\\`*_[\]()#+\-.!>])/.exec(rest))) { text += m[1]; i += 2; continue; }
    const intraword = src[i] === '_' && i > 0 && /[\p{L}\p{N}]/u.test(src[i - 1]);
    if (!intraword && (m = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1(?!_\w)/.exec(rest)) && !(m[1] === '__' && /^\w/.test(rest.slice(m[0].length)))) { flush(); out.push({ type: 'strong', children: parseInline(m[2]) }); i += m[0].length; continue; }
    if (!intraword && (m = /^(\*|_)(?=\S)([\s\S]*?\S)\1(?![*_\w])/.exec(rest))) { flush(); out.push({ type: 'em', children: parseInline(m[2]) }); i += m[0].length; continue; }
    if ((m = /^\[([^\]]*)\]\(\s*([^\s)]*)\s*\)/.exec(rest))) {
      flush();
      if (SAFE_URL.test(m[2])) out.push({ type: 'link', href: m[2], children: parseInline(m[1]) });
      else out.push({ type: 'text', text: m[0] });
      i += m[0].length;
      continue;
    }
    if ((m = /^( {2,}|\\)\n/.exec(rest))) { flush(); out.push({ type: 'br' }); i += m[0].length; continue; }
    text += src[i++];
  }
  flush();
  return out;
}
