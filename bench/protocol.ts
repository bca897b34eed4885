/** What the orchestrator (bench/run.ts) and a target child (bench/targets.ts) share. */

export const TARGETS = {
  'ours-json': 'ours, responseMode json',
  'ours-auto': 'ours, responseMode auto (default)',
  'ours-sse': 'ours, responseMode sse',
  'ours-hibernate': 'ours, auto, hibernateAfterMs (swept)',
  'ours-sse-noevents': 'ours, responseMode sse, eventStore null (no resumption)',
  'ours-lazy': 'ours, auto, lazyServer (a session gets its server on its first request that needs one)',
  'ours-fastify': 'ours, auto, on a Fastify 5 app (mcpSessionPlugin)',
  'ours-fastify-lazy': 'ours, auto, lazyServer, on a Fastify 5 app',
  'ours-koa': 'ours, auto, on a Koa 3 app',
  'ours-redis': 'ours, auto, every store on Redis (REDIS_URL, default 127.0.0.1:6379)',
  'ours-tokens': 'ours, auto, session tokens (`tokenKeys`, signed), memory stores: the token decides',
  'ours-tokens-sealed': 'ours, auto, session tokens sealed (`tokenFormat: sealed`), memory stores (not run by default)',
  'sdk-v2-sse': 'SDK v2 NodeStreamableHTTPServerTransport (default SSE)',
  'sdk-v2-json': 'SDK v2 NodeStreamableHTTPServerTransport, enableJsonResponse',
  'sdk-v1-sse': 'SDK v1 StreamableHTTPServerTransport (default SSE)',
  'sdk-v1-json': 'SDK v1 StreamableHTTPServerTransport, enableJsonResponse (not run by default)',
  'sdk-v2-handler':
    "SDK v2 createMcpHandler (legacy 'stateless'): a new server per request, both eras, on node:http through toNodeHandler (eras case only)",
  'ours-stateless': "ours, legacy: 'stateless', on Express (eras case only)",
  'ours-fastify-stateless': "ours, legacy: 'stateless', on a Fastify 5 app (eras case only)",
  'express-floor': 'no MCP at all: Express 5 parsing each body and answering a fixed JSON-RPC result (the ceiling on Express)',
} as const;

export type TargetName = keyof typeof TARGETS;

export function isTargetName(value: string): value is TargetName {
  return Object.hasOwn(TARGETS, value);
}

/**
 * Targets measured in the session-creation and heap cases only: with `lazyServer` a session's
 * server is built by its first `tools/call`, after which calls cost what they cost without it.
 */
export const CREATION_ONLY: ReadonlySet<TargetName> = new Set(['ours-lazy', 'ours-fastify-lazy']);

/** Targets without legacy sessions: measured in the eras case only. */
export const ERAS_ONLY: ReadonlySet<TargetName> = new Set(['sdk-v2-handler', 'ours-stateless', 'ours-fastify-stateless']);

/**
 * The MCP server a target serves: `echo`, one `echo` tool (the tools, init and heap cases); or
 * `conformance`, the conformance fixture server of examples/conformance with `echo` added (the eras
 * case), which lists 2026-07-28 and has the tools, resources and prompts a server per request builds.
 */
export const TOOL_SETS = ['echo', 'conformance'] as const;
export type ToolSet = (typeof TOOL_SETS)[number];

export function isToolSet(value: string): value is ToolSet {
  return (TOOL_SETS as readonly string[]).includes(value);
}

/** `hibernateAfterMs` of the `ours-hibernate` target; `hibernate` advances its clock past it. */
export const HIBERNATE_AFTER_MS = 60_000;

export interface CpuSample {
  /** `process.cpuUsage()`: user + system, microseconds. */
  user: number;
  system: number;
}

export interface MemSample {
  heapUsed: number;
  rss: number;
  external: number;
}

/** Each command and what the child answers. */
export interface Commands {
  cpu: CpuSample;
  /** Forces GC, then samples memory. */
  mem: MemSample;
  /** Ours only: advances the clock past `hibernateAfterMs` and sweeps; answers the live server count. */
  hibernate: { live: number };
  /** Live sessions the target holds (its map, or our `liveCount`/store count). */
  sessions: { sessions: number; live: number };
  /** Starts the V8 sampling profiler (100 µs interval) in the target. */
  profileStart: null;
  /** Stops it; answers the `.cpuprofile` JSON. */
  profileStop: { profile: string };
  close: null;
}

export type CommandName = keyof Commands;

export interface CommandMessage {
  id: number;
  cmd: CommandName;
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'reply'; id: number; value: Commands[CommandName] }
  | { type: 'error'; id: number; message: string };
