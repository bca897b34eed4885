import type { IncomingMessage } from 'node:http';
import type { MessageExtra } from '../live/transport.js';
import type { AuthInfo } from '../types.js';

/** Shared by every copy of this module (ESM and CommonJS builds in one process). */
export const kBinding = Symbol.for('@x/mcp-session.request');

/** The request a message belongs to, as the endpoint saw it (read by state handles and `requestState`). */
export interface RequestBinding {
  /** The principal making the request (undefined: anonymous). */
  readonly principal: string | undefined;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
}

/**
 * The v2 SDK reads `request` (a web `Request`) eagerly on every message; building one costs more
 * than the rest of the request. This view offers what handlers read, built on first use.
 */
class HttpRequestView {
  readonly method: string;
  readonly url: string;
  /** Set on the view of one request (see {@link bindRequest}). */
  [kBinding]?: RequestBinding;
  readonly #req: IncomingMessage;
  #headers: Headers | undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
    this.method = req.method ?? 'POST';
    this.url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  }

  /** A view of the same HTTP request for one JSON-RPC request of it. */
  bound(binding: RequestBinding): HttpRequestView {
    const view = new HttpRequestView(this.#req);
    view[kBinding] = binding;
    return view;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(this.#req.headers)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const item of value) headers.append(name, item);
        else headers.set(name, value);
      }
      this.#headers = headers;
    }
    return this.#headers;
  }
}

/** What the SDK's servers read of the HTTP request with each message (v1 `requestInfo`, v2 `request`). */
export function messageExtra(req: IncomingMessage, auth: AuthInfo | undefined): MessageExtra {
  const extra: MessageExtra = { requestInfo: { headers: req.headers }, request: new HttpRequestView(req) };
  if (auth !== undefined) extra.authInfo = auth;
  return extra;
}

/**
 * The extra of one JSON-RPC request, its request objects carrying the binding a handler's ctx is read
 * through. The messages of one POST share one extra; each request gets its own request objects.
 */
export function bindRequest(extra: MessageExtra, binding: RequestBinding): MessageExtra {
  const bound: MessageExtra = { ...extra };
  if (extra.request instanceof HttpRequestView) bound.request = extra.request.bound(binding);
  // Not enumerable: a handler spreading requestInfo copies the headers only. Object.assign rather than
  // a spread: on Node 20's V8, a key added to a spread's copy gives every copy a map of its own.
  if (extra.requestInfo !== undefined)
    bound.requestInfo = Object.defineProperty(Object.assign({}, extra.requestInfo), kBinding, { value: binding });
  return bound;
}
