// Writes one section of bench/RESULTS.md, replacing that section's previous figures and keeping the others.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const FILE = new URL('./RESULTS.md', import.meta.url);

export function machine(): string {
  return (
    `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${os.platform()} ${os.release()}, Node ${process.version}`
  );
}

export function writeSection(title: string, body: string): void {
  // A benchmark file run with -t that measured nothing for this section leaves it as it was.
  if (!body.trim()) return;
  let text: string;
  try {
    text = readFileSync(FILE, 'utf8');
  } catch {
    text =
      '# nap-verify benchmark results\n\nWritten by `npm run bench`; each section is replaced when its benchmark ' +
      'runs again.\n';
  }
  const head = `## ${title}`;
  const re = new RegExp(`## ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n[\\s\\S]*?(?=\\n## |$)`);
  const old = re.exec(text)?.[0];
  const section = `${head}\n\n_${new Date().toISOString()} on ${machine()}_\n\n${keepOtherParts(old, body.trim())}\n`;
  text = old ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(FILE, `${text.trimEnd()}\n`);
  // Tables as Biome lays them out, so `npm run lint` stays green after a bench run.
  execFileSync('npx', ['biome', 'format', '--write', fileURLToPath(FILE)], { stdio: 'ignore', timeout: 60_000 });
}

/**
 * A section made of `### ` parts keeps the parts this run did not measure (a bench file run with `-t` measures a
 * few): the new parts replace their namesakes, the others stay as they were, in their order.
 */
function keepOtherParts(old: string | undefined, body: string): string {
  const lead = (text: string) => (text.includes('### ') ? text.slice(0, text.indexOf('### ')) : text).trim();
  const parts = (text: string) =>
    text
      .split(/\n(?=### )/)
      .filter((p) => p.startsWith('### '))
      .map((p) => [p.includes('\n') ? p.slice(0, p.indexOf('\n')) : p, p.trim()] as const);
  const fresh = parts(body);
  if (!old || fresh.length === 0) return body;
  // The old section starts with its heading and date line: its lead is what follows them.
  const oldBody = old.split('\n').slice(3).join('\n');
  const kept = new Map(parts(oldBody));
  for (const [name, text] of fresh) kept.set(name, text);
  return [lead(body) || lead(oldBody), ...kept.values()].filter(Boolean).join('\n\n');
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
