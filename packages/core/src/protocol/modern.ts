/**
 * The rules of the 2026-07-28 protocol ("modern" era) that the HTTP entry enforces itself: which
 * POSTs may be modern (the SDK's classifier decides the rest), the standard request headers and
 * `Mcp-Param-*` headers with their base64 sentinel, and the HTTP status of a refused request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type Refusal, refusal } from '../http/refusal.js';
import type { JSONRPCMessage, JSONRPCRequest } from './jsonrpc.js';

/** The modern protocol revisions served here. */
export const MODERN_PROTOCOL_VERSIONS = ['2026-07-28'] as const;
export const MODERN_PROTOCOL_VERSION = MODERN_PROTOCOL_VERSIONS[0];

/** The `_meta` keys of the per-request envelope. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** Revisions from 2026-07-28 on are modern (the SDK's rule, for values that are revisions at all). */
export function isModernVersion(version: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= MODERN_PROTOCOL_VERSION;
}

/** A header's first value, without the optional whitespace HTTP allows around it. */
export function headerText(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.replace(/^[ \t]+|[ \t]+$/g, '');
}

function claimsVersion(message: JSONRPCMessage): boolean {
  if (!('method' in message)) return false;
  const meta = message.params?._meta;
  return typeof meta === 'object' && meta !== null && META.protocolVersion in meta;
}

/**
 * Whether a POST may belong to the modern era, and so goes to the SDK's classifier: a message that
 * claims a version in `_meta`, or a request or notification sent with a modern `MCP-Protocol-Version`.
 * Everything else (no claim, legacy or no header, responses, claim-less batches) is legacy at no cost.
 */
export function mayBeModern(messages: readonly JSONRPCMessage[], batch: boolean, headers: IncomingHttpHeaders): boolean {
  if (batch) return messages.some(claimsVersion);
  const message = messages[0];
  if (message === undefined || !('method' in message)) return false;
  if (claimsVersion(message)) return true;
  const version = headerText(headers, 'mcp-protocol-version');
  return version !== undefined && isModernVersion(version);
}

/**
 * The status of an error the server sent while the request was being handed to it (the protocol's
 * gates: unknown method, wrong era, bad envelope); an error a handler produced stays in-band on 200.
 * `-32021` is 400 whoever sent it (the spec sets it on the error itself).
 */
const LADDER_STATUS: Readonly<Record<number, number>> = {
  [JsonRpcErrorCode.ParseError]: 400,
  [JsonRpcErrorCode.InvalidRequest]: 400,
  [JsonRpcErrorCode.MethodNotFound]: 404,
  [JsonRpcErrorCode.UnsupportedProtocolVersion]: 400,
  [JsonRpcErrorCode.MissingRequiredClientCapability]: 400,
  [JsonRpcErrorCode.HeaderMismatch]: 400,
};

/** The HTTP status of a modern JSON-RPC error: its ladder status when the protocol refused it, or `-32021`. */
export function modernErrorStatus(code: number, fromLadder: boolean): number | undefined {
  if (code === JsonRpcErrorCode.MissingRequiredClientCapability) return 400;
  return fromLadder ? LADDER_STATUS[code] : undefined;
}

export function unsupportedVersion(requested: string | undefined, supported: readonly string[]): Refusal {
  const data: Record<string, unknown> = { supported: [...supported] };
  if (requested !== undefined) data.requested = requested;
  const message =
    requested === undefined
      ? 'Unsupported protocol version: the request did not name a protocol version'
      : `Unsupported protocol version: ${requested} (supported: ${supported.join(', ')})`;
  return refusal(400, JsonRpcErrorCode.UnsupportedProtocolVersion, message, { data });
}

function mismatch(header: string, body: string): Refusal {
  return refusal(400, JsonRpcErrorCode.HeaderMismatch, `Bad Request: the request headers and body disagree: ${body}`, {
    data: { mismatch: { header, body } },
  });
}

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A header value as its sender meant it: `=?base64?…?=` decoded; undefined when that encoding is invalid. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX))) return value;
  const encoded = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!CANONICAL_BASE64.test(encoded)) return undefined;
  try {
    return utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined;
  }
}

/** The body field `Mcp-Name` mirrors, by method. */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/**
 * `MCP-Protocol-Version` and `Mcp-Method` on every request, and `Mcp-Name` equal to the name or URI
 * the body carries (the classifier already compared the version and method values).
 */
export function checkStandardHeaders(headers: IncomingHttpHeaders, request: JSONRPCRequest): Refusal | undefined {
  if (headerText(headers, 'mcp-protocol-version') === undefined) {
    return mismatch('(missing)', 'the required MCP-Protocol-Version header is absent');
  }
  if (headerText(headers, 'mcp-method') === undefined) {
    return mismatch('(missing)', `the body names method ${request.method} but the required Mcp-Method header is absent`);
  }
  const field = Object.hasOwn(NAME_SOURCE, request.method) ? NAME_SOURCE[request.method] : undefined;
  if (field === undefined) return undefined;
  const raw = request.params?.[field];
  const bodyValue = typeof raw === 'string' ? raw : undefined;
  const name = headerText(headers, 'mcp-name');
  if (name === undefined) {
    return bodyValue === undefined
      ? undefined
      : mismatch('(missing)', `the body carries params.${field}="${bodyValue}" but the required Mcp-Name header is absent`);
  }
  const decoded = decodeHeaderValue(name);
  if (decoded === undefined) return mismatch(name, 'the Mcp-Name header carries an invalid Base64 sentinel value');
  if (bodyValue !== undefined && decoded !== bodyValue) {
    return mismatch(name, `the body carries params.${field}="${bodyValue}" but the Mcp-Name header names "${decoded}"`);
  }
  return undefined;
}

/** A tool argument the client mirrors in an `Mcp-Param-<name>` header. */
export interface MirroredArgument {
  readonly path: readonly string[];
  readonly header: string;
  readonly type: string | undefined;
}

/** The arguments a tool's input schema marks `x-mcp-header`, reachable through `properties` only. */
export function mirroredArguments(schema: unknown): MirroredArgument[] {
  const found: MirroredArgument[] = [];
  const visit = (node: unknown, path: string[]) => {
    if (typeof node !== 'object' || node === null) return;
    const properties = (node as { properties?: unknown }).properties;
    if (typeof properties !== 'object' || properties === null) return;
    for (const [key, child] of Object.entries(properties)) {
      if (typeof child !== 'object' || child === null) continue;
      const header = (child as Record<string, unknown>)['x-mcp-header'];
      const type = (child as { type?: unknown }).type;
      if (typeof header === 'string' && header !== '')
        found.push({ path: [...path, key], header, type: typeof type === 'string' ? type : undefined });
      visit(child, [...path, key]);
    }
  };
  visit(schema, []);
  return found;
}

function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)))
    return String(value);
  return undefined;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** Each mirrored argument the body carries must come with its `Mcp-Param-*` header, equal to it. */
export function checkParamHeaders(
  headers: IncomingHttpHeaders,
  mirrored: readonly MirroredArgument[],
  args: Record<string, unknown> | undefined,
): Refusal | undefined {
  for (const { path, header, type } of mirrored) {
    let value: unknown = args;
    for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    const bodyText = primitiveText(value);
    if (bodyText === undefined) continue;
    const name = `Mcp-Param-${header}`;
    const raw = headerText(headers, name.toLowerCase());
    if (raw === undefined)
      return mismatch(name, `the body carries ${path.join('.')}=${JSON.stringify(value)} but the ${name} header is absent`);
    const decoded = decodeHeaderValue(raw);
    if (decoded === undefined) return mismatch(name, `the ${name} header carries an invalid Base64 sentinel value`);
    const numeric = (type === 'integer' || type === 'number') && typeof value === 'number' && DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== value : decoded !== bodyText) {
      return mismatch(
        name,
        `the ${name} header decodes to ${JSON.stringify(decoded)} but the body carries ${path.join('.')}=${JSON.stringify(value)}`,
      );
    }
  }
  return undefined;
}
