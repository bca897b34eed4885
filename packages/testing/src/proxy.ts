import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A round-robin HTTP proxy on 127.0.0.1: no stickiness, every request may land on another backend. */
export interface RoundRobinProxy {
  url: string;
  /** Which backend (index) served each request, in order. */
  readonly log: Array<{ backend: number; method: string; kind: string; sessionId: string | undefined; lastEventId: string | undefined }>;
  /** Replaces the backends (a restarted process gets a new port). */
  setBackends(urls: string[]): void;
  close(): Promise<void>;
}

/** What a POST carries: its JSON-RPC method, `response` for a client's answer, or '' for no body. */
function kindOf(body: Buffer): string {
  if (body.length === 0) return '';
  try {
    const message = JSON.parse(body.toString('utf8')) as { method?: unknown };
    return typeof message.method === 'string' ? message.method : 'response';
  } catch {
    return 'unparsable';
  }
}

/**
 * Forwards each request to the next backend in turn, streaming both bodies, so SSE passes through.
 * A backend that refuses the connection is skipped for that request (as a load balancer's health
 * check would), so a killed process costs the client a reconnect, not an error.
 */
export async function startRoundRobinProxy(backends: string[]): Promise<RoundRobinProxy> {
  let targets = backends.map((url) => new URL(url));
  let next = 0;
  const log: RoundRobinProxy['log'] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), targets.length));
  });

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, attempts: number): void {
    const index = next++ % targets.length;
    const target = targets[index]!;
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        log.push({
          backend: index,
          method: req.method ?? '',
          kind: kindOf(body),
          sessionId: header('mcp-session-id'),
          lastEventId: header('last-event-id'),
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && attempts > 1 && !res.headersSent) {
        forward(req, res, body, attempts - 1);
        return;
      }
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    // The client going away ends the upstream request too (an SSE reader that disconnects).
    res.on('close', () => upstream.destroy());
    upstream.end(body);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    log,
    setBackends(urls) {
      targets = urls.map((url) => new URL(url));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
