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

/**
 * Opens a session with plain HTTP (initialize, then initialized) and returns its id. Unlike the SDK
 * clients it holds no GET stream open.
 */
export async function openRawSession(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  const sessionId = response.headers.get('mcp-session-id')!;
  const initialized = await postInSession(url, sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  expect(initialized.status).toBe(202);
  return sessionId;
}
