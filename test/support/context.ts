// A RunContext for judging recorded evidence without a network: the spec's defaults, overridable per test.
import type { RunContext } from '../../src/model.js';
import { buildTarget } from '../../src/target.js';

export function testContext(over: Partial<RunContext> = {}): RunContext {
  return {
    target: buildTarget('acme.com'),
    mode: 'external',
    httpsPort: 443,
    httpPort: 80,
    expectIps: [],
    resolvers: [],
    extraCa: [],
    certWarnDays: 14,
    timeoutMs: 1000,
    holdS: 75,
    turn: { relayRange: [49152, 49252], relaySamples: 3 },
    env: {},
    now: () => new Date(),
    ...over,
  };
}
