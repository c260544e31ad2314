// A TURN client session on one transport (one 5-tuple, so at most one allocation, as coturn insists): Binding,
// Allocate with the long-term-credential challenge, CreatePermission, Refresh. Returns facts, not verdicts.
import {
  ATTR,
  encode,
  getAddress,
  getErrorCode,
  getString,
  getUint32,
  METHOD,
  newTransactionId,
  type AttributeInput,
  type MethodName,
  type StunMessage,
  type TransportAddress,
} from './codec.js';
import { longTermKey } from './credentials.js';
import type { Failure, StunTransport, TransactionResult } from './transport.js';

export interface Credentials {
  username: string;
  password: string;
}

export const SOFTWARE = 'nap-verify';
/** REQUESTED-TRANSPORT: TURN relays UDP (protocol 17) whatever the client-server transport. */
const UDP = 17;

export type Outcome<T> =
  | ({ ok: true; rttMs: number } & T)
  | ({ ok: false; code?: number; reason?: string } & Partial<Failure>);

/**
 * 437 Allocation Mismatch: the server still holds an allocation for this 5-tuple. A local port is reused by the
 * kernel right after an allocation from it was released, and coturn frees a released allocation up to a second
 * later (seen about once per 100 back-to-back exporter probes). RFC 8656 §7.2: retry from another local port.
 */
export class AllocationMismatch extends Error {
  constructor(method: string) {
    super(`${method}: 437 Allocation Mismatch (the server still holds an allocation for this local port)`);
  }
}

const mismatch = (m: StunMessage) => m.cls === 'error' && getErrorCode(m)?.code === 437;

export class TurnSession {
  private realm?: string;
  private nonce?: string;
  private key?: Buffer;

  constructor(
    readonly transport: StunTransport,
    private readonly timeoutMs: number,
    private readonly creds?: Credentials,
  ) {}

  private async transact(method: MethodName, attrs: AttributeInput[], signed: boolean): Promise<TransactionResult> {
    const id = newTransactionId();
    const auth: AttributeInput[] =
      signed && this.creds && this.realm && this.nonce
        ? [
            { type: 'USERNAME', value: this.creds.username },
            { type: 'REALM', value: this.realm },
            { type: 'NONCE', value: this.nonce },
          ]
        : [];
    const raw = encode(
      { method, cls: 'request', transactionId: id, attributes: [...attrs, ...auth] },
      { ...(signed && this.key ? { integrityKey: this.key } : {}), fingerprint: true },
    );
    return this.transport.request(raw, id, this.timeoutMs);
  }

  /** A signed request, answering one 438 Stale Nonce by retrying with the fresh nonce. */
  private async signed(method: MethodName, attrs: AttributeInput[]): Promise<TransactionResult> {
    let r = await this.transact(method, attrs, true);
    if (r.ok && r.message.cls === 'error' && getErrorCode(r.message)?.code === 438) {
      this.nonce = getString(r.message, ATTR.NONCE) ?? this.nonce;
      r = await this.transact(method, attrs, true);
    }
    return r;
  }

  async binding(): Promise<Outcome<{ mapped?: TransportAddress; software?: string }>> {
    const r = await this.transact('binding', [], false);
    if (!r.ok) return { ok: false, kind: r.kind, error: r.error };
    const m = r.message;
    if (m.method !== METHOD.binding)
      return { ok: false, kind: 'malformed', error: `answer to Binding has method ${m.method}` };
    if (m.cls === 'error') return { ok: false, ...errorOf(m) };
    const mapped = getAddress(m, ATTR.XOR_MAPPED_ADDRESS) ?? getAddress(m, ATTR.MAPPED_ADDRESS);
    const software = getString(m, ATTR.SOFTWARE);
    return { ok: true, rttMs: r.rttMs, ...(mapped ? { mapped } : {}), ...(software ? { software } : {}) };
  }

  /** An unauthenticated Allocate: a TURN server must challenge it (401 with REALM and NONCE). */
  async challenge(): Promise<Outcome<{ status: number | 'success'; realm?: string; hasNonce: boolean }>> {
    const r = await this.transact('allocate', [{ type: 'REQUESTED-TRANSPORT', value: UDP }], false);
    if (!r.ok) return { ok: false, kind: r.kind, error: r.error };
    const m = r.message;
    if (mismatch(m)) throw new AllocationMismatch('Allocate');
    if (m.cls === 'success') return { ok: true, rttMs: r.rttMs, status: 'success', hasNonce: false };
    const e = getErrorCode(m);
    const realm = getString(m, ATTR.REALM);
    const nonce = getString(m, ATTR.NONCE);
    if (realm !== undefined) this.realm = realm;
    if (nonce !== undefined) this.nonce = nonce;
    if (this.creds && this.realm) this.key = longTermKey(this.creds.username, this.realm, this.creds.password);
    return {
      ok: true,
      rttMs: r.rttMs,
      status: e?.code ?? 0,
      ...(realm !== undefined ? { realm } : {}),
      hasNonce: nonce !== undefined,
    };
  }

  async allocate(): Promise<Outcome<{ relayed?: TransportAddress; mapped?: TransportAddress; lifetime?: number }>> {
    if (!this.nonce) {
      const c = await this.challenge();
      if (!c.ok) return c;
      if (c.status === 'success') return { ok: false, reason: 'the server allocated without asking for credentials' };
    }
    const r = await this.signed('allocate', [
      { type: 'REQUESTED-TRANSPORT', value: UDP },
      { type: 'LIFETIME', value: 600 },
    ]);
    if (!r.ok) return { ok: false, kind: r.kind, error: r.error };
    if (mismatch(r.message)) throw new AllocationMismatch('Allocate');
    if (r.message.cls === 'error') return { ok: false, ...errorOf(r.message) };
    const relayed = getAddress(r.message, ATTR.XOR_RELAYED_ADDRESS);
    const mapped = getAddress(r.message, ATTR.XOR_MAPPED_ADDRESS);
    const lifetime = getUint32(r.message, ATTR.LIFETIME);
    return {
      ok: true,
      rttMs: r.rttMs,
      ...(relayed ? { relayed } : {}),
      ...(mapped ? { mapped } : {}),
      ...(lifetime !== undefined ? { lifetime } : {}),
    };
  }

  /** One peer per request, so a refusal names the peer. Port is ignored by TURN permissions. */
  async createPermission(peer: string): Promise<Outcome<object>> {
    const family = peer.includes(':') ? 6 : 4;
    const r = await this.signed('createPermission', [
      { type: 'XOR-PEER-ADDRESS', value: { family, address: peer, port: 0 } },
    ]);
    if (!r.ok) return { ok: false, kind: r.kind, error: r.error };
    if (r.message.cls === 'error') return { ok: false, ...errorOf(r.message) };
    return { ok: true, rttMs: r.rttMs };
  }

  /** Refresh with LIFETIME 0 deletes the allocation: nothing is left behind on the server. */
  async release(): Promise<void> {
    if (!this.key) return;
    await this.signed('refresh', [{ type: 'LIFETIME', value: 0 }]).catch(() => undefined);
  }
}

function errorOf(m: StunMessage): { code?: number; reason?: string } {
  const e = getErrorCode(m);
  return e ? { code: e.code, reason: e.reason } : { reason: 'error response without ERROR-CODE' };
}
