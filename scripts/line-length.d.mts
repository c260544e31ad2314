// Types for scripts/line-length.mjs (plain JavaScript so that `npm run lint` needs no build), for its unit test.
export declare const MAX_CHARS: number;
export interface AllowEntry {
  lines: number;
  why: string;
}
export declare const ALLOWED: Record<string, AllowEntry>;
export interface LongLine {
  file: string;
  line: number;
  chars: number;
}
export declare function trackedFiles(root: string): string[];
export declare function longLines(text: string, max?: number): { line: number; chars: number }[];
export declare function checkLineLength(
  root: string,
  options?: { max?: number; allowed?: Record<string, AllowEntry> },
): { offenders: LongLine[]; allowed: LongLine[]; stale: { file: string; allowed: number; found: number }[] };
