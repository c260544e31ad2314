// Why a check could not test a host, told from what its prerequisites found (spec §3: a check that tested nothing
// is `skip`, and the reason printed is computed from what happened, never a fixed sentence): the step that failed
// on the way from DNS to the service, followed through the runner's skips (evidence.blockedBy) to the check that
// failed, as far as this check reads them.
import type { CheckResult, Upstream } from '../../src/model.js';
import { CERT_CODES } from './routing.js';

/** The result behind `id`'s: a skip for a failed prerequisite leads to that prerequisite, when it is read here. */
export function rootResult(up: Upstream, id: string): CheckResult | undefined {
  let r = up.get(id);
  for (let i = 0; r && i < 8; i++) {
    const by = r.status === 'skip' ? r.evidence.blockedBy : undefined;
    const next = typeof by === 'string' ? up.get(by) : undefined;
    if (!next) break;
    r = next;
  }
  return r;
}

const CERT: readonly string[] = CERT_CODES;
/** DNS failures where no server answered the question at all (the others answered: no such name, no address). */
const NO_ANSWER = ['DNS_TIMEOUT', 'DNS_UNREACHABLE', 'DNS_SERVFAIL'];

/**
 * What a result leaves untestable behind it, in words: "no address in DNS (dns.main DNS_NXDOMAIN)", "no TLS session
 * (tls.main TLS_HANDSHAKE)", "an authentication gate answers for it (http.main HTTP_AUTH_GATE)", "http.main failed
 * (HTTP_DEFAULT_BACKEND)"; a skip in its own words ("tls.main skipped: dns.main failed (DNS_NXDOMAIN)").
 */
export function describeBlock(r: CheckResult): string {
  const tag = `${r.id}${r.code ? ` ${r.code}` : ''}`;
  if (r.evidence.interrupted) return `${r.id} was interrupted`;
  if (r.status === 'skip') return `${r.id} ${/^skipped\b/.test(r.message) ? r.message : `skipped: ${r.message}`}`;
  const area = r.id.split('.')[0];
  if (area === 'dns' && r.status === 'fail')
    return `${NO_ANSWER.includes(r.code ?? '') ? 'no DNS answer' : 'no address in DNS'} (${tag})`;
  if (area === 'tls' && r.status === 'fail' && !CERT.includes(r.code ?? '')) return `no TLS session (${tag})`;
  if (r.code === 'HTTP_AUTH_GATE') return `an authentication gate answers for it (${tag})`;
  const verb = r.status === 'fail' ? 'failed' : r.status === 'warn' ? 'warned' : 'passed';
  return `${r.id} ${verb}${r.code ? ` (${r.code})` : ''}`;
}

/** Why nothing behind check `id` could be tested, traced to the first failure this check can see. */
export function causeOf(up: Upstream, id: string): string {
  const r = rootResult(up, id);
  return r ? describeBlock(r) : `${id} did not run`;
}
