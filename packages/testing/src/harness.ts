import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { mcpSession, type McpSessionMiddleware } from '@x/mcp-session-express';
import type { McpSessionOptions } from '@x/mcp-session-core';

export interface RunningApp {
  url: string;
  mcp: McpSessionMiddleware;
  server: Server;
  close(): Promise<void>;
}

/** An Express app with the endpoint at /mcp, listening on 127.0.0.1 on a free port. */
export async function startExpress(options: McpSessionOptions, configure?: (app: express.Express) => void): Promise<RunningApp> {
  const app = express();
  configure?.(app);
  const mcp = mcpSession(options);
  app.use('/mcp', mcp);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    mcp,
    server,
    async close() {
      await mcp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A clock the test moves by hand. */
export class ManualClock {
  #now: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
