/**
 * A fixture server whose `hold` tool waits for the test to release it, so a test can keep requests
 * in flight for as long as it needs, and see when the server was told to cancel one.
 */
import { McpServer } from '@modelcontextprotocol/server';
import type { McpServerLike } from '@x/mcp-session-core';
import { z } from 'zod';

export interface Gate {
  /** Resolves once `count` calls of `hold` are waiting. */
  entered(count?: number): Promise<void>;
  /** Lets every waiting and later `hold` call finish. */
  release(): void;
  /** Request ids whose call the server was told to cancel. */
  readonly cancelled: unknown[];
  readonly factory: () => McpServerLike;
}

export function gate(): Gate {
  let waiting = 0;
  let released = false;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const watchers: Array<{ count: number; resolve: () => void }> = [];
  const cancelled: unknown[] = [];
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  return {
    cancelled,
    entered: (count = 1) =>
      new Promise<void>((resolve) => {
        if (waiting >= count) resolve();
        else watchers.push({ count, resolve });
      }),
    release: () => {
      released = true;
      open();
    },
    factory: () => {
      const server = new McpServer({ name: 'gate', version: '1.0.0' }, { capabilities: { logging: {} } });
      server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text: value }) => text(value));
      server.registerTool('hold', {}, async (ctx) => {
        ctx.mcpReq.signal.addEventListener('abort', () => cancelled.push(ctx.mcpReq.id));
        waiting += 1;
        for (const watcher of watchers.splice(0)) {
          if (waiting >= watcher.count) watcher.resolve();
          else watchers.push(watcher);
        }
        if (!released) await opened;
        return text('released');
      });
      // SEP-1699 polling before anything else was sent: the answer comes on the resumed stream.
      server.registerTool('close_first', {}, async (ctx) => {
        ctx.http?.closeSSE?.();
        if (!released) await opened;
        return text('after close');
      });
      return server;
    },
  };
}
