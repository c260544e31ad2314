// Text a server sent, made inert before it reaches a reader: the one sanitiser, used where text leaves the tool.
// Control characters (escape sequences, CR, BEL, DEL, C1), bidi controls, line and paragraph separators,
// noncharacters and lone surrogates are shown as their escapes (`\x1b`, `\u202e`), so a hostile answer cannot
// rewrite a terminal, reorder what a person reads or break a file's format. Each edge adds its own markup on top:
// inertMarkdown, inertHtml, inertXml; inertJson keeps JSON's values whole and only spells those characters as
// JSON escapes.
/* biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff]/g;
// UTF-16 halves without their other half: no character, and no XML or UTF-8 can carry them.
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const hex = (c: string) => {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** Plain text (a terminal, a log, a message): every unsafe character as its visible escape. Idempotent. */
export function inert(text: string): string {
  return text.replace(UNSAFE, hex).replace(LONE, hex);
}

/**
 * Markdown inline text (a paragraph, a heading, a table cell): inert, then `&`, `<`, `>` as entities (no raw HTML,
 * no autolink), and `[`, `]`, `` ` ``, `|` backslashed (no link, image, code span or cell break); a backslash before
 * punctuation is doubled so it cannot undo one of those.
 */
export function inertMarkdown(text: string): string {
  return inert(text)
    .replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[[\]`|]/g, '\\$&');
}

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML text or a quoted attribute value: inert, then `& < > " '` as entities. */
export function inertHtml(text: string): string {
  return inert(text).replace(/[&<>"']/g, (c) => ENTITY[c]!);
}

/**
 * XML 1.0 text or a quoted attribute value: inert (which leaves no character XML forbids, and no tab, CR or line
 * feed that an attribute would normalise away), then `& < > " '` as entities.
 */
export function inertXml(text: string): string {
  return inertHtml(text);
}

/** Characters JSON.stringify leaves raw that a terminal or a reader may act on (it escapes C0 and lone halves). */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff]/g;

/**
 * A JSON document (JSON.stringify's output) with those characters spelt as `\uXXXX`: they occur only inside
 * strings, so every value parses back exactly as it was. JSON stays the raw record.
 */
export function inertJson(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
