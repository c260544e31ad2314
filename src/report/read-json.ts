// A schema-1 JSON result read back (spec §4): a saved `--json` of a run, or what the end user's browser page
// copied (`vantage: "browser"`). Checked field by field, so a pasted fragment is refused with the reason.
import type { CheckResult, Role, Status } from '../model.js';
import type { RunRecord } from './json.js';
import type { Summary } from './summary.js';

const STATUSES: readonly Status[] = ['pass', 'warn', 'fail', 'skip'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class ResultFormatError extends Error {}

function date(v: unknown, field: string): Date {
  const d = typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new ResultFormatError(`${field} is not a date`);
  return d;
}

function check(v: unknown, i: number): CheckResult {
  if (!isObject(v)) throw new ResultFormatError(`checks[${i}] is not an object`);
  const { id, title, status, code, message, host, durationMs, evidence, remediation } = v;
  if (typeof id !== 'string' || !/^[a-z]+(\.[a-z][a-z0-9]*)+$/.test(id))
    throw new ResultFormatError(`checks[${i}].id is not a check id`);
  if (!STATUSES.includes(status as Status))
    throw new ResultFormatError(`checks[${i}] (${id}): status must be one of ${STATUSES.join(', ')}`);
  return {
    id,
    title: typeof title === 'string' ? title : id,
    status: status as Status,
    ...(typeof code === 'string' && code ? { code } : {}),
    message: typeof message === 'string' ? message : '',
    ...(typeof host === 'string' && host ? { host } : {}),
    durationMs: typeof durationMs === 'number' && Number.isFinite(durationMs) ? durationMs : 0,
    evidence: isObject(evidence) ? evidence : {},
    ...(typeof remediation === 'string' && remediation ? { remediation } : {}),
  };
}

/** Parse and check a schema-1 document; the summary is recounted from the checks (a hand-edited one cannot lie). */
export function readResult(text: string): RunRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ResultFormatError(`not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new ResultFormatError('not a JSON object');
  if (doc.tool !== 'nap-verify') throw new ResultFormatError('not a nap-verify result (tool is not "nap-verify")');
  if (doc.schema !== 1) throw new ResultFormatError(`schema ${String(doc.schema)} is not 1`);
  if (!Array.isArray(doc.checks)) throw new ResultFormatError('no checks[] list');
  const target = isObject(doc.target) ? doc.target : {};
  if (typeof target.domain !== 'string') throw new ResultFormatError('target.domain is missing');
  const hosts = (isObject(target.hosts) ? target.hosts : {}) as Record<Role, string>;
  const turn =
    isObject(target.turn) && typeof target.turn.host === 'string' && typeof target.turn.port === 'number'
      ? { host: target.turn.host, port: target.turn.port }
      : { host: target.domain, port: 3478 };
  const results = doc.checks.map(check);
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  const strictFail = isObject(doc.summary) && doc.summary.status === 'fail' && !count('fail');
  const summary: Summary = {
    pass: count('pass'),
    warn: count('warn'),
    fail: count('fail'),
    skip: count('skip'),
    status: count('fail') || strictFail ? 'fail' : count('warn') ? 'warn' : 'pass',
  };
  const environment = isObject(doc.environment) ? doc.environment : undefined;
  const resolvers = Array.isArray(environment?.resolvers)
    ? environment.resolvers.filter((r): r is string => typeof r === 'string')
    : [];
  return {
    tool: 'nap-verify',
    version: typeof doc.version === 'string' ? doc.version : 'unknown',
    startedAt: date(doc.startedAt, 'startedAt'),
    finishedAt: date(doc.finishedAt, 'finishedAt'),
    target: {
      domain: target.domain,
      hosts,
      ...(typeof target.ingressIp === 'string' ? { ingressIp: target.ingressIp } : {}),
      turn,
    },
    options: isObject(doc.options) ? doc.options : {},
    resolvers,
    summary,
    results,
    ...(doc.interrupted === true ? { interrupted: true } : {}),
    ...(typeof doc.vantage === 'string' && doc.vantage ? { vantage: doc.vantage } : {}),
    ...(environment ? { environment } : {}),
  };
}
