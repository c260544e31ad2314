// The parts of undici the probes use, loaded file by file. undici's index loads all of it (fetch, WebSocket,
// EventSource, caches, mocks, proxy agents): ~60 ms of module loading on every run's critical path, for an Agent,
// request() through it, a connector and a handler decorator. Static imports, so a bundler still inlines them.
import type { Dispatcher } from 'undici';
import Agent from 'undici/lib/dispatcher/agent.js';
import dispatchRequest from 'undici/lib/api/api-request.js';
import buildConnector from 'undici/lib/core/connect.js';
import DecoratorHandler from 'undici/lib/handler/decorator-handler.js';

export { Agent, buildConnector, DecoratorHandler };
export type { Dispatcher };

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  method?: Dispatcher.HttpMethod;
  dispatcher: Dispatcher;
};

/** undici's request(url, opts) as its index builds it, always through the caller's own dispatcher. */
export function request(url: string, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = new URL(url);
  const { dispatcher, ...rest } = opts;
  return dispatchRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: `${u.pathname}${u.search}`,
    method: opts.method ?? 'GET',
  } as Dispatcher.RequestOptions);
}
