import type { IncomingMessage } from 'node:http';
import type { MessageExtra } from '../live/transport.js';
import type { AuthInfo } from '../types.js';

/**
 * The v2 SDK reads `request` (a web `Request`) eagerly on every message; building one costs more
 * than the rest of the request. This view offers what handlers read, built on first use.
 */
class HttpRequestView {
  readonly method: string;
  readonly url: string;
  readonly #req: IncomingMessage;
  #headers: Headers | undefined;

  constructor(req: IncomingMessage) {
    this.#req = req;
    this.method = req.method ?? 'POST';
    this.url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
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
