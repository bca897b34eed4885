import { expect } from 'vitest';

/** The Accept header every POST must carry. */
export const ACCEPT_BOTH = 'application/json, text/event-stream';

/** POSTs one JSON-RPC message in a session, with plain HTTP. */
export function postInSession(url: string, sessionId: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, 'mcp-session-id': sessionId, ...headers },
    body: JSON.stringify(body),
  });
}

/** `initialize` params of a client with no capabilities. */
export function initializeParams(protocolVersion = '2025-11-25', name = 'raw'): Record<string, unknown> {
  return { protocolVersion, capabilities: {}, clientInfo: { name, version: '1' } };
}

/** POSTs `initialize` with plain HTTP; the response is the caller's to read. */
export function postInitialize(
  url: string,
  params: Record<string, unknown> = initializeParams(),
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params }),
  });
}

/**
 * Opens a session with plain HTTP (initialize, then initialized) and returns its id. Unlike the SDK
 * clients it holds no GET stream open.
 */
export async function openRawSession(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await postInitialize(url, initializeParams(), headers);
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  const sessionId = response.headers.get('mcp-session-id')!;
  const initialized = await postInSession(url, sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  expect(initialized.status).toBe(202);
  return sessionId;
}
