// The platform's values.env: shell-style KEY=value lines (export, comments, quotes, ${VAR} references to
// earlier keys, CRLF). Parsed, never executed: no command substitution, no environment lookups.

export interface ValuesFile {
  values: Record<string, string>;
  /** Lines that could not be read, and references to keys not defined above them. */
  problems: Array<{ line: number; message: string }>;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Keys whose values are secrets: kept for use, never shown. */
export const isSecretKey = (key: string) => /SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|_KEY$|CREDENTIAL/i.test(key);

export function parseValues(text: string): ValuesFile {
  const values: Record<string, string> = {};
  const problems: ValuesFile['problems'] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const m = /^(?:export\s+)?([^=\s]+)\s*=(.*)$/.exec(trimmed);
    if (!m || !KEY.test(m[1]!)) {
      problems.push({ line: i + 1, message: `not KEY=value: ${trimmed.slice(0, 60)}` });
      return;
    }
    const key = m[1]!;
    const r = readValue(m[2]!, values, (msg) => problems.push({ line: i + 1, message: `${key}: ${msg}` }));
    values[key] = r;
  });
  return { values, problems };
}

/** One value: a sequence of unquoted, '…' and "…" parts, ended by whitespace before an optional # comment. */
function readValue(src: string, defined: Record<string, string>, problem: (m: string) => void): string {
  let out = '';
  let i = 0;
  const s = src.replace(/^\s+/, '');
  const expand = (text: string) =>
    text.replace(
      /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
      (_all, braced: string | undefined, def: string | undefined, bare: string | undefined) => {
        const name = (braced ?? bare)!;
        if (name in defined) return defined[name]!;
        if (def !== undefined) return def;
        problem(`\${${name}} is not defined above`);
        return '';
      },
    );
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) {
        problem('unterminated single quote');
        return out + s.slice(i + 1);
      }
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let part = '';
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length && '"\\$`'.includes(s[j + 1]!)) {
          // An escaped $ must survive expansion as a literal: mark it, expand, unmark.
          part += s[j + 1] === '$' ? '\u0000' : s[j + 1];
          j++;
        } else part += s[j];
      }
      if (j >= s.length) problem('unterminated double quote');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is our placeholder for an escaped dollar sign
      out += expand(part).replace(/\u0000/g, '$');
      i = j + 1;
    } else if (/\s/.test(c)) {
      const rest = s.slice(i).trim();
      if (rest && !rest.startsWith('#')) problem(`unexpected text after the value: ${rest.slice(0, 40)}`);
      break;
    } else {
      let j = i;
      while (j < s.length && !/[\s'"]/.test(s[j]!)) j++;
      out += expand(s.slice(i, j).replace(/\\(.)/g, '$1'));
      i = j;
    }
  }
  return out;
}
