// The exporter on the blackbox_exporter multi-target pattern: Prometheus asks `GET /probe?target=<d>&module=<m>`
// and gets one run's result as metrics. `quick` runs per scrape inside the scrape's timeout; `full` (holds
// included, ~hold seconds) runs in the background every `interval` and is served from the last result with its
// age. Concurrent scrapes of one target and module share one run. The runs are the check command's own, from the
// run API (src/run.ts: prepareRun/executeRun): nothing here judges anything.
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { runSignal } from './run-signal.js';
import { executeRun, prepareRun } from '../run.js';
import { parseDomain, UsageError } from '../options.js';
import type { RunRecord } from '../report/json.js';
import { MODULES, optionsFor, type ExporterConfig, type Module } from './config.js';
import { probeMetrics } from './metrics.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Prometheus's own default scrape_timeout, for a probe whose scrape did not say. */
const DEFAULT_SCRAPE_TIMEOUT_S = 10;
/** Kept back from the scrape timeout for writing the answer (blackbox_exporter keeps 0.5 s too). */
const TIMEOUT_OFFSET_S = 0.5;
/** At most this many targets run `full` in the background, and this many quick runs at once. */
const MAX_FULL_TARGETS = 32;
const MAX_QUICK_RUNS = 16;

export interface ExporterDeps {
  config: ExporterConfig;
  env: Record<string, string | undefined>;
  /** From NAP_VERIFY_TURN_SECRET for targets without a turnSecretFile; never logged or served. */
  secrets: { turnSecret?: string };
  log: (line: string) => void;
}

interface Outcome {
  run?: RunRecord;
  /** The run did not finish within the probe's time. */
  timedOut: boolean;
  error?: string;
}

interface FullState {
  last?: { run: RunRecord; at: number };
  running?: Promise<Outcome>;
  timer: NodeJS.Timeout;
}

class BadRequest extends Error {}

export function createExporter(deps: ExporterDeps) {
  const { config } = deps;
  const shutdown = new AbortController();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nap_verify_exporter_' });
  const probes = new Counter({
    name: 'nap_verify_exporter_probes_total',
    help: 'Probe requests answered, by module and outcome.',
    labelNames: ['module', 'outcome'],
    registers: [registry],
  });
  const runs = new Counter({
    name: 'nap_verify_exporter_runs_total',
    help: 'Check runs started, by module (shared by concurrent scrapes).',
    labelNames: ['module'],
    registers: [registry],
  });
  const probeSeconds = new Histogram({
    name: 'nap_verify_exporter_probe_seconds',
    help: 'Time to answer a probe request, by module.',
    labelNames: ['module'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const fullTargets = new Gauge({
    name: 'nap_verify_exporter_full_targets',
    help: 'Targets the full module runs in the background.',
    registers: [registry],
  });

  const quickRuns = new Map<string, Promise<Outcome>>();
  const full = new Map<string, FullState>();

  /** One run of the check command for a target; never rejects (an error is part of the outcome). */
  async function runOnce(domain: string, module: Module, budgetS?: number): Promise<Outcome> {
    runs.inc({ module });
    // A quick probe keeps each network step well inside the scrape's time, so a dead name is judged, not timed out.
    const o = optionsFor(config, domain, module, deps.secrets, budgetS === undefined ? config.timeoutS : budgetS * 0.4);
    const own = runSignal(shutdown.signal, budgetS);
    try {
      const prepared = await prepareRun(o, deps.env);
      const run = await executeRun(prepared, o, own.signal);
      return { run, timedOut: !!run.interrupted };
    } catch (e) {
      return {
        timedOut: false,
        error: e instanceof UsageError ? e.message : `internal error: ${(e as Error).message}`,
      };
    } finally {
      own.done();
    }
  }

  function startFull(domain: string): FullState {
    let state = full.get(domain);
    if (state) return state;
    if (full.size >= MAX_FULL_TARGETS)
      throw new BadRequest(
        `the full module already runs for ${MAX_FULL_TARGETS} targets: use quick, or run another exporter`,
      );
    const tick = () => {
      if (state!.running || shutdown.signal.aborted) return;
      const began = Date.now();
      state!.running = runOnce(domain, 'full').then((out) => {
        state!.running = undefined;
        if (out.run) {
          state!.last = { run: out.run, at: Date.now() };
          deps.log(
            `full ${domain}: ${out.run.summary.status} (${out.run.summary.pass} passed, ${out.run.summary.fail} ` +
              `failed, ${out.run.summary.warn} warnings) in ${((Date.now() - began) / 1000).toFixed(1)} s`,
          );
        } else deps.log(`full ${domain}: ${out.error}`);
        return out;
      });
    };
    state = { timer: setInterval(tick, config.intervalS * 1000) };
    state.timer.unref();
    full.set(domain, state);
    fullTargets.set(full.size);
    tick();
    return state;
  }

  const wait = <T>(p: Promise<T>, ms: number) => {
    let t: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<'late'>((resolve) => {
        t = setTimeout(() => resolve('late'), ms);
      }),
    ]).finally(() => clearTimeout(t));
  };

  async function probe(url: URL, headers: http.IncomingHttpHeaders): Promise<{ body: string; outcome: string }> {
    const rawTarget = url.searchParams.get('target');
    if (!rawTarget) throw new BadRequest('target parameter is missing: /probe?target=<domain>&module=quick|full');
    let domain: string;
    try {
      domain = parseDomain(rawTarget, 'target');
    } catch (e) {
      throw new BadRequest((e as Error).message);
    }
    const module = (url.searchParams.get('module') ?? 'quick') as Module;
    if (!MODULES.includes(module))
      throw new BadRequest(`unknown module ${JSON.stringify(url.searchParams.get('module'))}: quick or full`);
    const header = Number(headers['x-prometheus-scrape-timeout-seconds']);
    const budgetS = Math.max(
      0.5,
      (Number.isFinite(header) && header > 0 ? header : DEFAULT_SCRAPE_TIMEOUT_S) - TIMEOUT_OFFSET_S,
    );

    if (module === 'full') {
      const state = startFull(domain);
      if (!state.last && state.running) await wait(state.running, budgetS * 1000);
      if (!state.last) {
        return {
          outcome: 'pending',
          body:
            `# HELP nap_verify_probe_pending The first full run of this target has not finished yet.\n# TYPE ` +
            `nap_verify_probe_pending gauge\nnap_verify_probe_pending 1\n`,
        };
      }
      return {
        outcome: state.last.run.summary.status === 'fail' ? 'failure' : 'success',
        body: probeMetrics(state.last.run, { ageS: (Date.now() - state.last.at) / 1000 }),
      };
    }

    let shared = quickRuns.get(domain);
    if (!shared) {
      if (quickRuns.size >= MAX_QUICK_RUNS)
        throw new BadRequest(`${MAX_QUICK_RUNS} quick probes are already running: try again`);
      shared = runOnce(domain, 'quick', budgetS);
      quickRuns.set(domain, shared);
      void shared.then(() => quickRuns.delete(domain));
    }
    // A run that ignores its deadline still cannot hold the scrape: answer a timeout (the run goes on, shared).
    const out = await wait(shared, budgetS * 1000 + 250);
    if (out === 'late' || !out.run) {
      const why = out === 'late' ? 'the run did not finish within the scrape timeout' : out.error!;
      return {
        outcome: 'error',
        body:
          `# ${why.replace(/\n/g, ' ')}\n# HELP nap_verify_probe_success Whether the probe succeeded.\n# ` +
          `TYPE nap_verify_probe_success gauge\nnap_verify_probe_success 0\n`,
      };
    }
    return {
      outcome: out.timedOut ? 'timeout' : out.run.summary.status === 'fail' ? 'failure' : 'success',
      body: probeMetrics(out.run, { timedOut: out.timedOut }),
    };
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://exporter');
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET\n');
    if (url.pathname === '/-/healthy') return send(200, 'Healthy\n');
    if (url.pathname === '/metrics') {
      void registry.metrics().then(
        (m) => send(200, m, registry.contentType),
        (e: Error) => send(500, `${e.message}\n`),
      );
      return;
    }
    if (url.pathname === '/probe') {
      const module = url.searchParams.get('module') ?? 'quick';
      const end = probeSeconds.startTimer({ module: MODULES.includes(module as Module) ? module : 'unknown' });
      probe(url, req.headers).then(
        ({ body, outcome }) => {
          end();
          probes.inc({ module, outcome });
          send(200, body, CONTENT_TYPE);
        },
        (e: Error) => {
          end();
          probes.inc({ module: MODULES.includes(module as Module) ? module : 'unknown', outcome: 'bad_request' });
          if (e instanceof BadRequest) return send(400, `${e.message}\n`);
          deps.log(`probe: internal error: ${e.message}`);
          send(500, `internal error: ${e.message}\n`);
        },
      );
      return;
    }
    if (url.pathname === '/') {
      return send(
        200,
        'nap-verify exporter\n\n/probe?target=<domain>&module=quick|full  one run as metrics\n/metrics  the ' +
          'exporter itself\n/-/healthy\n',
      );
    }
    send(404, 'not found: /probe, /metrics, /-/healthy\n');
  });
  server.keepAliveTimeout = 65_000;

  return {
    server,
    async close(): Promise<void> {
      shutdown.abort();
      for (const s of full.values()) clearInterval(s.timer);
      await Promise.allSettled([...quickRuns.values(), ...[...full.values()].map((s) => s.running)]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
