// Syntax highlighting for fenced code: a small lexer (comments, strings, numbers, keywords) shared by
// the C-like languages, Python and shell. Output is a token list; the renderer escapes every token.

export type CodeTokenKind = 'plain' | 'comment' | 'string' | 'number' | 'keyword';
export interface CodeToken { kind: CodeTokenKind; text: string }

const KEYWORDS = new Set(
  ('abstract as async await break case catch class const continue def default del do elif else enum export extends ' +
   'false fn finally for from func function go if impl implements import in interface is lambda let match mut new ' +
   'nil None not null or pass private protected pub public raise return self static struct super switch this throw ' +
   'True try type typeof undefined use var void while with yield False and true fi then esac done echo local').split(' '),
);

export function highlight(code: string, lang: string): CodeToken[] {
  const hashComments = /^(py|python|sh|bash|shell|zsh|rb|ruby|yaml|yml|toml|r)$/i.test(lang);
  const tokens: CodeToken[] = [];
  const push = (kind: CodeTokenKind, text: string) => {
    const last = tokens[tokens.length - 1];
    if (last && last.kind === kind && kind === 'plain') last.text += text;
    else tokens.push({ kind, text });
  };
  const rules: [CodeTokenKind, RegExp][] = [
    ['comment', hashComments ? /^#[^\n]*/ : /^(\/\/[^\n]*|\/\*[\s\S]*?(\*\/|$))/],
    ['string', /^("""[\s\S]*?("""|$)|'''[\s\S]*?('''|$)|"(\\.|[^"\\\n])*"?|'(\\.|[^'\\\n])*'?|`(\\.|[^`\\])*`?)/],
    ['number', /^(0x[\da-f]+|\d+(\.\d+)?(e[+-]?\d+)?)\b/i],
  ];
  let i = 0;
  outer: while (i < code.length) {
    const rest = code.slice(i);
    for (const [kind, re] of rules) {
      const m = re.exec(rest);
      if (m && m[0].length > 0) { push(kind, m[0]); i += m[0].length; continue outer; }
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(rest);
    if (word) { push(KEYWORDS.has(word[0]) ? 'keyword' : 'plain', word[0]); i += word[0].length; continue; }
    push('plain', code[i++]);
  }
  return tokens;
}
