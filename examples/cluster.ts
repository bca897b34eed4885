/**
 * Scale-out on one machine: NODES demo processes (default 3) on Redis behind a round-robin proxy with
 * no stickiness, on 127.0.0.1:$PORT/mcp (default 3000). REDIS_URL defaults to redis://127.0.0.1:6379.
 * Every request of a session may land on another process; watch them with GET /metrics on each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startRoundRobinProxy } from '@x/mcp-session-testing';

const nodes = Number(process.env.NODES ?? 3);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const encryptionKeys = process.env.MCP_SESSION_ENCRYPTION_KEYS ?? `cluster:${randomBytes(32).toString('base64')}`;
const root = new URL('..', import.meta.url).pathname;

function startNode(index: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@x/source', 'examples/demo/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      REDIS_URL: redisUrl,
      MCP_SESSION_ENCRYPTION_KEYS: encryptionKeys,
      MCP_SESSION_NODE_ID: `node${index}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /MCP demo server on (http:\/\/\S+\/mcp)/.exec(output);
      if (match !== null) resolve({ url: match[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`node ${index} exited with code ${code}:\n${output}`)));
  });
}

const started = await Promise.all(Array.from({ length: nodes }, (_, index) => startNode(index)));
const proxy = await startRoundRobinProxy(started.map((node) => node.url));
const port = Number(process.env.PORT ?? 3000);
// The proxy listens on a free port; put a fixed one in front for clients.
const { createServer, request } = await import('node:http');
const front = createServer((req, res) => {
  const target = new URL(proxy.url);
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});
front.listen(port, '127.0.0.1', () => {
  console.log(`${nodes} demo processes on Redis (${redisUrl}) behind round robin on http://127.0.0.1:${port}/mcp`);
  for (const [index, node] of started.entries())
    console.log(`  node${index}: ${node.url} (metrics: ${node.url.replace(/\/mcp$/, '/metrics')})`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const node of started) node.child.kill('SIGTERM');
    front.close();
    void proxy.close();
  });
}
