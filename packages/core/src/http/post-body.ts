/** A POST body parsed into JSON-RPC messages, or the refusal that says why it cannot be. */
import type { IncomingMessage } from 'node:http';
import { JsonRpcErrorCode } from '../errors.js';
import { type JSONRPCMessage, type RequestId, invalidMessageReason, isRequest } from '../protocol/jsonrpc.js';
import { readJsonBody } from './body.js';
import { type Checked, refusal } from './refusal.js';

/**
 * Passed as `body` by an adapter whose framework read the body but could not parse it as JSON; the
 * endpoint answers 400 with a JSON-RPC parse error.
 */
export const unparsableBody: unique symbol = Symbol('mcp-session.unparsableBody');

export interface ParsedPost {
  readonly messages: JSONRPCMessage[];
  /** The body was a JSON array (a 2025-03-26 batch), even of one message. */
  readonly batch: boolean;
}

/** Takes the body the adapter parsed, or reads it from `req`, and checks every message's envelope. */
export async function parsePostBody(
  req: IncomingMessage,
  given: unknown,
  limits: { maxBodyBytes: number; bodyTimeoutMs: number },
): Promise<Checked<ParsedPost>> {
  if (given === unparsableBody) return refusal(400, JsonRpcErrorCode.ParseError, 'Parse error: the body is not valid JSON');
  let body = given;
  if (body === undefined) {
    const read = await readJsonBody(req, limits.maxBodyBytes, limits.bodyTimeoutMs);
    if (!read.ok) return read;
    body = read.value;
  }
  const batch = Array.isArray(body);
  const messages = (batch ? body : [body]) as unknown[];
  if (messages.length === 0) return refusal(400, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: an empty batch');
  for (const message of messages) {
    const reason = invalidMessageReason(message);
    if (reason !== undefined) return refusal(400, JsonRpcErrorCode.InvalidRequest, `Invalid Request: ${reason}`);
  }
  const valid = messages as JSONRPCMessage[];
  if (batch && hasDuplicateRequestId(valid)) {
    // Two requests with one id would get one response between them.
    return refusal(400, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: two requests of the batch share an id');
  }
  return { ok: true, messages: valid, batch };
}

function hasDuplicateRequestId(messages: readonly JSONRPCMessage[]): boolean {
  const seen = new Set<RequestId>();
  for (const message of messages) {
    if (!isRequest(message)) continue;
    if (seen.has(message.id)) return true;
    seen.add(message.id);
  }
  return false;
}
