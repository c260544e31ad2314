// Text a server sent, made inert before it goes into a message: control characters (escape sequences, CR, BEL) and
// bidi overrides are shown as their escapes (`\x1b`, `\u202e`), so a hostile answer cannot rewrite a terminal or
// reorder what a person reads.
/* biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function inert(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
