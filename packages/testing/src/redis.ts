import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis server for tests. `stop()` ends it if this process started it, and does nothing otherwise. */
export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** Whether a Redis answers PING at host:port. */
async function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Ports free right now, all different (each is held open until every one is found). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((server) => once(server, 'listening')));
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** A `redis-server` this process started: it can also be killed, frozen and thawed, as faults. */
export interface StartedRedis extends TestRedis {
  /** SIGKILL: gone at once, as a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers. */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
}

/** Starts `redis-server` on a free port with no persistence, resolving once it accepts connections. */
export async function startRedisServer(extraArgs: string[] = [], port?: number): Promise<StartedRedis> {
  port ??= (await freePorts(1))[0]!;
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const fail = (reason: string) => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start (${reason}). Install Redis, start one on 127.0.0.1:6379, or set REDIS_URL.\n${output}`));
    };
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code) => fail(`exited with code ${code}`));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve();
      }
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // A frozen server hears no SIGTERM until it is thawed.
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
  };
}

/**
 * The Redis the tests use: `REDIS_URL` when set, else one answering on 127.0.0.1:6379, else a
 * `redis-server` started for this run (on a free port, no persistence) and stopped by `stop()`.
 * Tests share whatever server this finds: each run keeps to its own key prefix and deletes only its own
 * keys, and never flushes a database.
 */
export async function redisForTests(): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, stop: async () => undefined };
  if (await answersPing('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => undefined };
  return startRedisServer();
}

/** A Redis Cluster for tests: its nodes, and `stop()`, which ends it if this process started it. */
export interface TestRedisCluster {
  nodes: Array<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster for tests: the nodes in `REDIS_CLUSTER_NODES` (`host:port,host:port,…`) when set,
 * else three masters started here with `redis-server --cluster-enabled yes` on free ports, joined with
 * `redis-cli --cluster create`, and stopped (their files removed) by `stop()`.
 */
export async function redisClusterForTests(): Promise<TestRedisCluster> {
  const fromEnv = process.env.REDIS_CLUSTER_NODES;
  if (fromEnv !== undefined && fromEnv !== '') {
    const nodes = fromEnv.split(',').map((node) => {
      const [host = '127.0.0.1', port = '6379'] = node.trim().split(':');
      return { host, port: Number(port) };
    });
    return { nodes, stop: async () => undefined };
  }
  const dir = await mkdtemp(join(tmpdir(), 'mcp-session-cluster-'));
  const servers: TestRedis[] = [];
  const stop = async () => {
    for (const server of servers) await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const free = await freePorts(6);
    const ports = free.slice(0, 3);
    for (const [i, port] of ports.entries()) {
      const busPort = free[3 + i]!;
      servers.push(
        await startRedisServer(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--dir',
            dir,
          ],
          port,
        ),
      );
    }
    const create = spawn(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    create.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    create.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    const [code] = (await once(create, 'exit')) as [number | null];
    if (code !== 0 || !output.includes('All 16384 slots covered')) throw new Error(`redis-cli --cluster create failed:\n${output}`);
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
