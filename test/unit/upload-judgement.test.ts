// http.upload's judgement on recorded evidence: what a person reads when bodies pass, once per fact.
import { describe, expect, it } from 'vitest';
import { judgeUpload } from '../../checks/http.upload.js';
import { testContext } from '../support/context.js';

const MiB = 1024 * 1024;
const host = (h: string) => ({
  role: 'main' as const,
  host: h,
  declared: [{ size: 100 * MiB, continued: true, ms: 2 }],
  real: {
    size: 100 * MiB,
    sent: 100 * MiB,
    received: 100 * MiB,
    ended: 'answered' as const,
    answer: { status: 200, headers: {}, body: '' },
    ms: 37_700,
    mbps: 2.8,
  },
});

describe('http.upload judgement', () => {
  it('a whole real body on both hosts is one clause naming both, not one per host', () => {
    const j = judgeUpload(
      { uploadBytes: 100 * MiB, hosts: [host('nap.test'), host('sandbox.nap.test')] },
      testContext(),
    );
    expect(j.status).toBe('pass');
    expect(j.message).toContain('a real 100 MiB body reached the responder whole on nap.test and sandbox.nap.test');
    expect(j.message.match(/reached the responder/g)).toHaveLength(1);
  });
});
