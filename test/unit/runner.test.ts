// The runner's guarantees, on checks made for the test: concurrency, skip-on-prerequisite, per-check and run deadlines.
import { describe, expect, it } from 'vitest';
import type { CheckDef, RunContext } from '../../src/model.js';
import { runChecks, runDeadlineMs } from '../../src/runner.js';
import { buildTarget } from '../../src/target.js';
import { testContext } from '../support/context.js';

const ctx = (timeoutMs = 100): RunContext => testContext({ target: buildTarget('acme.test'), timeoutMs, holdS: 5 });

function check(
  id: string,
  o: Partial<CheckDef<unknown>> & { wait?: number; status?: 'pass' | 'fail' } = {},
): CheckDef<unknown> {
  return {
    meta: { id, area: 'dns', title: id, proves: '', codes: { X_FAIL: { status: 'fail', why: '', fix: 'fix it' } } },
    gather: async () => new Promise((r) => setTimeout(() => r({}), o.wait ?? 0)),
    judge: () =>
      o.status === 'fail' ? { status: 'fail', code: 'X_FAIL', message: 'broke' } : { status: 'pass', message: 'ok' },
    ...o,
  };
}

describe('runner', () => {
  it('runs independent checks side by side', async () => {
    // Each gather finishes only once all three have started: run one after another, the first would never finish
    // and fail at its deadline. (The run's wall time is a benchmark figure, not asserted here.)
    let started = 0;
    let allStarted!: () => void;
    const barrier = new Promise<void>((res) => (allStarted = res));
    const gather = async () => {
      if (++started === 3) allStarted();
      await barrier;
      return {};
    };
    const defs = ['a.one', 'a.two', 'a.three'].map((id) => check(id, { gather, deadlineMs: () => 5000 }));
    const r = await runChecks(
      defs,
      defs.map((d) => d.meta.id),
      ctx(),
      new AbortController().signal,
    );
    expect(r.map((x) => x.status)).toEqual(['pass', 'pass', 'pass']);
    expect(started).toBe(3);
  });

  it("a check's probes may all listen to its signal, and fifty checks to the run's: no leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const gather = async (_c: RunContext, _u: unknown, tools: { signal: AbortSignal }) => {
        const listeners = Array.from({ length: 30 }, () => () => {});
        for (const l of listeners) tools.signal.addEventListener('abort', l);
        await new Promise((r) => setTimeout(r, 5));
        for (const l of listeners) tools.signal.removeEventListener('abort', l);
        return {};
      };
      const defs = Array.from({ length: 50 }, (_, i) => check(`a.n${i}`, { gather: gather as CheckDef['gather'] }));
      const controller = new AbortController();
      const r = await runChecks(
        defs,
        defs.map((d) => d.meta.id),
        ctx(),
        controller.signal,
      );
      expect(r.every((x) => x.status === 'pass')).toBe(true);
      await new Promise((res) => setImmediate(res));
      expect(warnings.filter((w) => /listener/i.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a check whose prerequisite failed is skipped with the reason, never a second failure', async () => {
    const defs = [check('a.base', { status: 'fail' }), check('a.next', { needs: () => ['a.base'] })];
    const r = await runChecks(defs, ['a.base', 'a.next'], ctx(), new AbortController().signal);
    expect(r[1]).toMatchObject({ status: 'skip', message: 'skipped: a.base failed (X_FAIL)' });
  });

  it(
    'an early probe starts once its own inputs are done, beside the needs, ' + 'and gather reads that same probe',
    async () => {
      // a.slow finishes only after the early probe has started: were the probe started by gather (after a.slow), the
      // run would wait for a.slow forever and fail at its deadline.
      let probeStarted!: () => void;
      const started = new Promise<void>((res) => (probeStarted = res));
      let runs = 0;
      const probe = () => {
        runs++;
        probeStarted();
        return Promise.resolve({ read: 'early' });
      };
      const defs = [
        check('a.addr'),
        check('a.slow', {
          gather: async () => {
            await started;
            return {};
          },
          deadlineMs: () => 2000,
        }),
        check('a.stream', {
          needs: () => ['a.addr', 'a.slow'],
          early: { after: () => ['a.addr'], start: (_c, _u, tools) => void tools.probe('k', probe) },
          gather: (_c, _u, tools) => tools.probe('k', probe),
          judge: (ev) => ({ status: 'pass', message: JSON.stringify(ev) }),
        }),
      ];
      const r = await runChecks(defs, ['a.stream'], ctx(), new AbortController().signal);
      expect(r[0]).toMatchObject({ status: 'pass', message: '{"read":"early"}' });
      expect(runs).toBe(1);
    },
  );

  it('an early probe whose check is skipped is aborted when the run ends, and its failure is no crash', async () => {
    let signal: AbortSignal | undefined;
    const defs = [
      check('a.addr'),
      check('a.gate', { status: 'fail' }),
      check('a.stream', {
        needs: () => ['a.addr', 'a.gate'],
        early: {
          after: () => ['a.addr'],
          start: (_c, _u, tools) => {
            signal = tools.signal;
            void tools.probe('k', () => Promise.reject(new Error('refused')));
          },
        },
      }),
    ];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = await runChecks(defs, ['a.stream'], ctx(), new AbortController().signal);
      expect(r[0]).toMatchObject({ status: 'skip', message: 'skipped: a.gate failed (X_FAIL)' });
      expect(signal?.aborted).toBe(true);
      // A rejection nobody handled is reported after the microtasks it was left in: give it a macrotask.
      await new Promise((res) => setImmediate(res));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an early probe waits for its inputs: a failed input leaves it unstarted', async () => {
    let started = false;
    const defs = [
      check('a.addr', { status: 'fail' }),
      check('a.stream', {
        needs: () => ['a.addr'],
        early: {
          after: () => ['a.addr'],
          start: () => {
            started = true;
          },
        },
      }),
    ];
    const r = await runChecks(defs, ['a.stream'], ctx(), new AbortController().signal);
    expect(r[0]!.status).toBe('skip');
    expect(started).toBe(false);
  });

  it('an early probe starts despite an input that failed with a code its check tolerates in its needs', async () => {
    let started = false;
    const defs = [
      check('a.addr', { status: 'fail' }),
      check('a.stream', {
        needs: () => [{ id: 'a.addr', tolerate: ['X_FAIL'] }],
        early: {
          after: () => ['a.addr'],
          start: () => {
            started = true;
          },
        },
      }),
    ];
    const r = await runChecks(defs, ['a.stream'], ctx(), new AbortController().signal);
    expect(r[0]!.status).toBe('pass');
    expect(started).toBe(true);
  });

  it('a need that ends with a code whose meta blocks dependents skips them even when it only warned', async () => {
    const gate = check('a.gate', {
      meta: {
        id: 'a.gate',
        area: 'http',
        title: 'a.gate',
        proves: '',
        codes: { GATE: { status: 'fail', alsoStatus: 'warn', blocksDependents: true, why: '', fix: 'exempt it' } },
      },
      judge: () => ({ status: 'warn', code: 'GATE', message: 'a gate answered' }),
    });
    const defs = [gate, check('a.behind', { needs: () => ['a.gate'] })];
    const r = await runChecks(defs, ['a.behind'], ctx(), new AbortController().signal);
    expect(r.find((x) => x.id === 'a.behind')).toMatchObject({
      status: 'skip',
      message: 'skipped: a.gate warned (GATE)',
    });
  });

  it('a gather that never returns fails CHECK_ERROR at its deadline', async () => {
    const defs = [check('a.stuck', { gather: () => new Promise(() => {}), deadlineMs: () => 150 })];
    const r = await runChecks(defs, ['a.stuck'], ctx(), new AbortController().signal);
    expect(r[0]).toMatchObject({ status: 'fail', code: 'CHECK_ERROR' });
    expect(r[0]!.message).toContain('no result within 150 ms');
  });

  it('a dependency cycle cannot hang the run: the run deadline ends it', async () => {
    const defs = [
      check('a.x', { needs: () => ['a.y'], deadlineMs: () => 100 }),
      check('a.y', { needs: () => ['a.x'], deadlineMs: () => 100 }),
    ];
    const t = Date.now();
    const r = await runChecks(defs, ['a.x', 'a.y'], ctx(), new AbortController().signal);
    expect(r.map((x) => x.code)).toEqual(['CHECK_ERROR', 'CHECK_ERROR']);
    expect(r[0]!.message).toMatch(/had no result when the run passed its deadline/);
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it('the run deadline is the longest chain of check limits: hold + timeout × steps', () => {
    const c = ctx(1000);
    const defs = [
      check('a.dns'),
      check('a.tls', { needs: () => ['a.dns'] }),
      check('a.hold', { needs: () => ['a.tls'], deadlineMs: (k) => k.holdS * 1000 + 4 * k.timeoutMs }),
      check('a.side'),
    ];
    // dns 5 s + tls 5 s + hold (5 s + 4 s) = 19 s; a.side runs beside the chain.
    expect(
      runDeadlineMs(
        defs,
        defs.map((d) => d.meta.id),
        c,
      ),
    ).toBe(5000 + 5000 + 9000);
  });
});
