/**
 * Which protocol era a POST belongs to, decided from the body as the official SDK does: a request
 * whose `params._meta` claims a protocol version is of the 2026-07-28 era ("modern"); `initialize`,
 * a request without the claim, notifications and responses without it, and batches are legacy. GET
 * and DELETE are legacy session operations and never reach the classifier.
 */
import type { JSONRPCMessage } from './jsonrpc.js';

/** The `_meta` key a 2026-07-28 request names its protocol version under. */
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion';

export type Era = { era: 'legacy' } | { era: 'modern'; protocolVersion: string };

const LEGACY: Era = { era: 'legacy' };

/** The version a message claims in `params._meta`, if it claims one. */
export function claimedVersion(message: JSONRPCMessage): unknown {
  if (!('method' in message)) return undefined;
  const meta = message.params?._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  return (meta as Record<string, unknown>)[PROTOCOL_VERSION_META_KEY];
}

/** Classifies the messages of one POST (already checked to be JSON-RPC messages). */
export function classifyEra(messages: readonly JSONRPCMessage[], batch: boolean): Era {
  if (batch || messages.length !== 1) return LEGACY;
  const claim = claimedVersion(messages[0]!);
  return typeof claim === 'string' ? { era: 'modern', protocolVersion: claim } : LEGACY;
}
