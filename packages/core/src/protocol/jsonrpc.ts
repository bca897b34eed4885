/** Minimal JSON-RPC 2.0 shapes used by the endpoint. Structurally compatible with both SDK majors. */
export type RequestId = string | number;

export interface JSONRPCRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JSONRPCNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JSONRPCResultResponse {
  jsonrpc: '2.0';
  id: RequestId;
  result: Record<string, unknown>;
}

export interface JSONRPCErrorResponse {
  jsonrpc: '2.0';
  id?: RequestId | null;
  error: { code: number; message: string; data?: unknown };
}

export type JSONRPCResponse = JSONRPCResultResponse | JSONRPCErrorResponse;
export type JSONRPCMessage = JSONRPCRequest | JSONRPCNotification | JSONRPCResponse;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string, or an integer JSON numbers represent exactly (what the SDK's schema accepts). */
function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
}

const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'error']);
const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task';

/** A member the message may not have, quoted and cut short for an error message. */
function extraKey(value: Obj, allowed: ReadonlySet<string>): string | undefined {
  for (const key in value) if (!allowed.has(key)) return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
  return undefined;
}

/** `params` (and its `_meta`) as the SDK's schema requires them of requests and notifications. */
function invalidParamsReason(params: unknown): string | undefined {
  if (params === undefined) return undefined;
  if (!isObject(params)) return 'params must be an object';
  if (!('_meta' in params)) return undefined;
  const meta = params._meta;
  if (!isObject(meta)) return 'params._meta must be an object';
  if (meta.progressToken !== undefined && !isRequestId(meta.progressToken)) {
    return 'params._meta.progressToken must be a string or an integer';
  }
  const related = meta[RELATED_TASK_META_KEY];
  if (related !== undefined && !(isObject(related) && typeof related.taskId === 'string')) {
    return `params._meta["${RELATED_TASK_META_KEY}"] must be an object with a string taskId`;
  }
  return undefined;
}

/**
 * A key that would change an object's prototype where a later merge copies it (`__proto__`, or
 * `constructor.prototype`), anywhere in the value. Iterative: a deeply nested body cannot overflow
 * the stack.
 */
export function prototypeKey(value: unknown): string | undefined {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null) continue;
    if (Array.isArray(current)) {
      for (const item of current) if (typeof item === 'object' && item !== null) pending.push(item);
      continue;
    }
    if (Object.hasOwn(current, '__proto__')) return '__proto__';
    const object = current as Obj;
    if (Object.hasOwn(object, 'constructor') && isObject(object.constructor) && Object.hasOwn(object.constructor, 'prototype')) {
      return 'constructor.prototype';
    }
    for (const key in object) {
      const child = object[key];
      if (typeof child === 'object' && child !== null) pending.push(child);
    }
  }
  return undefined;
}

/**
 * Checks one message against the JSON-RPC message schema of the official SDK: anything it accepts
 * passes, anything its server would silently drop (and so never answer) is refused here. Returns the
 * reason it is invalid, or undefined. Params beyond `_meta`, and results, are the server's to check.
 */
export function invalidMessageReason(value: unknown): string | undefined {
  if (!isObject(value)) return 'a JSON-RPC message must be an object';
  if (value.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  const protoKey = prototypeKey(value);
  if (protoKey !== undefined) return `the key ${protoKey} is not allowed`;
  if ('method' in value) {
    if (typeof value.method !== 'string') return 'method must be a string';
    const request = 'id' in value;
    if (request && !isRequestId(value.id)) return 'id must be a string or an integer';
    const extra = extraKey(value, request ? REQUEST_KEYS : NOTIFICATION_KEYS);
    if (extra !== undefined) return `unknown member ${extra}`;
    return invalidParamsReason(value.params);
  }
  if ('error' in value) {
    const error = value.error;
    if (!isObject(error) || !Number.isSafeInteger(error.code) || typeof error.message !== 'string') {
      return 'error must have an integer code and a string message';
    }
    if (!isRequestId(value.id)) return 'a response must carry the id of its request';
    const extra = extraKey(value, ERROR_KEYS);
    return extra === undefined ? undefined : `unknown member ${extra}`;
  }
  if ('result' in value) {
    if (!isObject(value.result)) return 'result must be an object';
    if (!isRequestId(value.id)) return 'a response must carry the id of its request';
    const extra = extraKey(value, RESULT_KEYS);
    return extra === undefined ? undefined : `unknown member ${extra}`;
  }
  return 'a JSON-RPC message needs a method, a result or an error';
}

export function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

export function isNotification(message: JSONRPCMessage): message is JSONRPCNotification {
  return 'method' in message && !('id' in message);
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCResponse {
  return !('method' in message);
}

export function isInitializeRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return isRequest(message) && message.method === 'initialize';
}
