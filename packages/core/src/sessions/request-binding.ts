/**
 * What a tool handler's context tells the endpoint about the request it belongs to. The endpoint
 * attaches a binding to the request object it hands the SDK with every message (`ctx.http.req` in
 * v2, `extra.requestInfo` in v1); state handles and `requestState` read the principal and the
 * request from it, so neither can be asked for on another principal's behalf.
 */
import { McpSessionError } from '../errors.js';
import { type RequestBinding, kBinding } from '../http/request-view.js';
import type { HandlerContext } from '../types.js';

export { bindRequest, type RequestBinding } from '../http/request-view.js';

type Bindable = { [kBinding]?: RequestBinding };

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
