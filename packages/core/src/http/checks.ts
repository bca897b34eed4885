/** The header checks of the Streamable HTTP transport, each returning a refusal or nothing. */
import type { IncomingMessage } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { LEGACY_PROTOCOL_VERSIONS, isLegacyVersion } from '../protocol/versions.js';
import { type Refusal, refusal } from './refusal.js';

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `application/json`, with or without parameters. */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}

/** A POST must accept both JSON and SSE (406) and send JSON (415). */
export function checkPostHeaders(req: IncomingMessage): Refusal | undefined {
  const accept = headerValue(req, 'accept');
  if (accept === undefined || !accept.includes('application/json') || !accept.includes('text/event-stream')) {
    return refusal(406, JsonRpcErrorCode.ServerError, 'Not Acceptable: the client must accept both application/json and text/event-stream');
  }
  if (!isJsonContentType(headerValue(req, 'content-type'))) {
    return refusal(415, JsonRpcErrorCode.ServerError, 'Unsupported Media Type: Content-Type must be application/json');
  }
  return undefined;
}

/** A GET opens an SSE stream: the client must accept one (406). */
export function checkGetHeaders(req: IncomingMessage): Refusal | undefined {
  const accept = headerValue(req, 'accept');
  if (accept !== undefined && accept.includes('text/event-stream')) return undefined;
  return refusal(406, JsonRpcErrorCode.ServerError, 'Not Acceptable: the client must accept text/event-stream');
}

/** A present `MCP-Protocol-Version` must name a version served here (400). */
export function checkProtocolVersionHeader(req: IncomingMessage): Refusal | undefined {
  const version = headerValue(req, 'mcp-protocol-version');
  if (version === undefined || isLegacyVersion(version)) return undefined;
  return refusal(
    400,
    JsonRpcErrorCode.ServerError,
    `Bad Request: unsupported protocol version ${version} (supported: ${LEGACY_PROTOCOL_VERSIONS.join(', ')})`,
  );
}

export const missingSessionId = (): Refusal => refusal(400, JsonRpcErrorCode.ServerError, 'Bad Request: Mcp-Session-Id header is required');

/** Unknown, ended, or bound to another principal: all look the same from outside. */
export const sessionNotFound = (): Refusal => refusal(404, JsonRpcErrorCode.SessionNotFound, 'Session not found');
