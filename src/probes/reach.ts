// Which of a name's addresses to use, the way browsers' Happy Eyeballs (RFC 8305) chooses: try them all, keep the
// most preferred one that accepts TCP. One dead AAAA then costs nothing to the other checks (net.addresses
// reports it once), where "the first IPv4" or "the first answer" would send every check to a dead address.
import net from 'node:net';
import type { IpFamily } from '../model.js';

export interface ReachAttempt {
  address: string;
  family: 4 | 6;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface AddressChoice {
  /** The address to connect to; the first preferred one when none answered (the checks then report it). */
  chosen: string;
  /** How the choice was made: only one candidate, or a TCP race. */
  how: 'only' | 'race' | 'none-answered';
  attempts: ReachAttempt[];
}

/** Addresses of the pinned family; IPv4 first in auto mode (the outcome of most clients on dual-stack hosts). */
export function preferredOrder(addresses: string[], family: IpFamily = 'auto'): string[] {
  const v4 = addresses.filter((a) => net.isIPv4(a));
  const v6 = addresses.filter((a) => net.isIPv6(a));
  return family === '4' ? v4 : family === '6' ? v6 : [...v4, ...v6];
}

/** After a less preferred address connected, how long more preferred ones may still win (RFC 8305's 250 ms). */
const RESOLUTION_DELAY_MS = 250;

export async function chooseAddress(
  addresses: string[],
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<AddressChoice> {
  if (addresses.length <= 1) return { chosen: addresses[0] ?? '', how: 'only', attempts: [] };
  const attempts: Array<ReachAttempt | undefined> = addresses.map(() => undefined);
  const sockets: net.Socket[] = [];
  const chosen = await new Promise<string | undefined>((resolve) => {
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => finish(), timeoutMs);
    const onAbort = () => finish();
    signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    function finish(address?: string) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
      resolve(address);
    }
    // The most preferred address that connected, once every address before it has failed.
    const decide = (final: boolean) => {
      for (let i = 0; i < addresses.length; i++) {
        const a = attempts[i];
        if (a?.ok) return finish(addresses[i]);
        if (!a && !final) return;
      }
      if (final) finish();
    };
    addresses.forEach((address, i) => {
      const started = performance.now();
      const s = net.connect({ host: address, port });
      sockets.push(s);
      const settle = (ok: boolean, error?: string) => {
        if (attempts[i]) return;
        attempts[i] = {
          address,
          family: net.isIPv6(address) ? 6 : 4,
          ok,
          ms: Math.round(performance.now() - started),
          ...(error ? { error } : {}),
        };
        s.destroy();
        if (attempts.every(Boolean)) return decide(true);
        decide(false);
        if (ok && !grace) grace = setTimeout(() => decide(true), RESOLUTION_DELAY_MS);
      };
      s.once('connect', () => settle(true));
      s.once('error', (e: NodeJS.ErrnoException) => settle(false, e.code ?? e.message));
    });
  });
  for (const s of sockets) s.destroy();
  const done = addresses.map(
    (address, i) =>
      attempts[i] ?? {
        address,
        family: net.isIPv6(address) ? (6 as const) : (4 as const),
        ok: false,
        ms: timeoutMs,
        error: 'no answer before the deadline',
      },
  );
  return chosen
    ? { chosen, how: 'race', attempts: done }
    : { chosen: addresses[0]!, how: 'none-answered', attempts: done };
}
