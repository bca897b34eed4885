/** Stable error codes thrown by this library. */
export type McpSessionErrorCode =
  | 'ERR_MCP_SESSION_INVALID_OPTIONS'
  | 'ERR_MCP_SESSION_FACTORY'
  | 'ERR_MCP_SESSION_REHYDRATE'
  | 'ERR_MCP_SESSION_STORE'
  | 'ERR_MCP_SESSION_STATE'
  | 'ERR_MCP_SESSION_STATE_LIMIT'
  | 'ERR_MCP_SESSION_SEALED'
  /** A handle or `requestState` call made outside a request this endpoint serves. */
  | 'ERR_MCP_SESSION_CONTEXT'
  /** A state handle could not be made: a bad kind or lifetime. */
  | 'ERR_MCP_SESSION_HANDLE'
  /** `maxHandles` state handles exist already. */
  | 'ERR_MCP_SESSION_HANDLE_LIMIT'
  /** A `requestState` that is forged, expired, replayed, another principal's or another request's. */
  | 'ERR_MCP_SESSION_REQUEST_STATE';

/**
 * The one error class of this library. `code` is stable and safe to branch on;
 * `message` says what happened and what to do about it.
 */
export class McpSessionError extends Error {
  override readonly name = 'McpSessionError';
  readonly code: McpSessionErrorCode;

  constructor(code: McpSessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[mcp-session] ${message}`, options);
    this.code = code;
  }
}

/** JSON-RPC error codes used in HTTP error bodies. */
export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Transport-level error (the SDK uses -32000 for HTTP-level rejections). */
  ServerError: -32000,
  /** Session not found (unknown, expired, terminated, or bound to another principal). */
  SessionNotFound: -32001,
  /** No answer within `requestTimeoutMs` (the code the SDK uses for a request timeout). */
  RequestTimeout: -32001,
  /** Rate limited: `data.retryAfterMs` says when to try again (with HTTP 429). */
  RateLimited: -32029,
  /** 2026-07-28: an HTTP header disagrees with the body, or a required one is missing (HTTP 400). */
  HeaderMismatch: -32020,
  /** 2026-07-28: the request needs a client capability the request did not declare (HTTP 400). */
  MissingRequiredClientCapability: -32021,
  /** 2026-07-28: the protocol version is not served here; `data.supported` lists those that are (HTTP 400). */
  UnsupportedProtocolVersion: -32022,
} as const;

/**
 * A JSON-RPC error a middleware answers with. With `httpStatus`, a response that has not started yet
 * is sent with that status and headers (a rate limit's 429 and `Retry-After`).
 */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  readonly code: number;
  readonly data: unknown;
  readonly httpStatus: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: number, message: string, options: { data?: unknown; httpStatus?: number; headers?: Record<string, string> } = {}) {
    super(message);
    this.code = code;
    this.data = options.data;
    this.httpStatus = options.httpStatus;
    this.headers = options.headers ?? {};
  }
}
