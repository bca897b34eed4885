/**
 * What a tool handler's context tells the endpoint about the request it belongs to. The endpoint
 * attaches a binding to the request object it hands the SDK with every message (`ctx.http.req` in
 * v2, `extra.requestInfo` in v1); state handles and `requestState` read the principal and the
 * request from it, so neither can be asked for on another principal's behalf.
 */
import { McpSessionError } from '../errors.js';
import type { MessageExtra } from '../live/transport.js';
import type { HandlerContext } from '../types.js';

/** Shared by every copy of this module (ESM and CommonJS builds in one process). */
const kBinding = Symbol.for('@x/mcp-session.request');

/** The request a message belongs to, as the endpoint saw it. */
export interface RequestBinding {
  /** The principal making the request (undefined: anonymous). */
  readonly principal: string | undefined;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
}

type Bindable = { [kBinding]?: RequestBinding };

/**
 * `value` with the binding on top: every read goes to `value` itself, and the binding is the view's
 * own. A proxy, not a prototype: getters and methods run on the original object, so a class with
 * private fields (the v2 request view's `headers`) still works, and spreading the view copies
 * `value`'s own fields.
 */
function withBinding<T extends object>(value: T, binding: RequestBinding): T {
  return new Proxy(value, {
    get(target, key) {
      if (key === kBinding) return binding;
      const read: unknown = Reflect.get(target, key, target);
      return typeof read === 'function' && key !== 'constructor' ? (read as (...args: unknown[]) => unknown).bind(target) : read;
    },
    has: (target, key) => key === kBinding || Reflect.has(target, key),
  });
}

/**
 * The extra of one request, its request objects carrying the binding. The messages of one POST share
 * one extra; each request gets its own view of it.
 */
export function bindRequest(extra: MessageExtra, binding: RequestBinding): MessageExtra {
  const bound: MessageExtra = { ...extra };
  if (typeof extra.request === 'object' && extra.request !== null) bound.request = withBinding(extra.request, binding);
  if (extra.requestInfo !== undefined) bound.requestInfo = withBinding(extra.requestInfo, binding);
  return bound;
}

function bindingOf(value: unknown): RequestBinding | undefined {
  return typeof value === 'object' && value !== null ? (value as Bindable)[kBinding] : undefined;
}

/** The binding of the request a handler context belongs to (v2 `ctx`, or v1 `extra`). */
export function requestBindingOf(ctx: HandlerContext, what: string): RequestBinding {
  const context = ctx as { http?: { req?: unknown }; requestInfo?: unknown; request?: unknown };
  const binding = bindingOf(context.http?.req) ?? bindingOf(context.requestInfo) ?? bindingOf(context.request);
  if (binding === undefined) {
    throw new McpSessionError(
      'ERR_MCP_SESSION_CONTEXT',
      `${what} needs the context of a request this endpoint is serving (the ctx or extra a handler receives)`,
    );
  }
  return binding;
}
