// The JSON report, schema 1 (spec §4). Field names are public interface.
import { inertJson } from '../inert.js';
import type { CheckResult, Target } from '../model.js';
import type { Summary } from './summary.js';

export interface RunRecord {
  tool: 'nap-verify';
  version: string;
  /**
   * Where the run looked from (--vantage; `browser` for the end user's page, kept when read back); absent for runs
   * that look from nowhere (kit lint).
   */
  vantage?: string;
  startedAt: Date;
  finishedAt: Date;
  /** kit lint has no TURN server to name: its target is the domain and hosts only. */
  target: Omit<Target, 'turn'> & { turn?: Target['turn'] };
  /** Already free of secrets: the caller passes what may be shown. */
  options: Record<string, unknown>;
  resolvers: string[];
  summary: Summary;
  results: CheckResult[];
  interrupted?: boolean;
  /** What the text report's first line says instead of the target (kit lint: the files read). */
  headline?: string;
  /** The recording side's environment, for a result read back from JSON (a browser's, another machine's). */
  environment?: Record<string, unknown>;
}

export function toJson(run: RunRecord): string {
  const doc = {
    tool: run.tool,
    version: run.version,
    schema: 1,
    ...(run.vantage ? { vantage: run.vantage } : {}),
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    durationMs: run.finishedAt.getTime() - run.startedAt.getTime(),
    target: {
      domain: run.target.domain,
      hosts: run.target.hosts,
      ingressIp: run.target.ingressIp ?? null,
      ...(run.target.turn ? { turn: run.target.turn } : {}),
    },
    options: run.options,
    environment: run.environment ?? {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      resolvers: run.resolvers,
    },
    summary: run.summary,
    ...(run.interrupted ? { interrupted: true } : {}),
    checks: run.results.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      ...(r.code ? { code: r.code } : {}),
      message: r.message,
      ...(r.host ? { host: r.host } : {}),
      durationMs: r.durationMs,
      evidence: r.evidence,
      ...(r.remediation ? { remediation: r.remediation } : {}),
    })),
  };
  // The raw record: values stay exactly what was sent, only the characters a terminal acts on are spelt as escapes.
  return `${inertJson(JSON.stringify(doc, null, 2))}\n`;
}
