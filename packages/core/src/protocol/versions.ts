/** Protocol revisions and what each allows. */

/** Protocol revisions of the legacy (session) era that this endpoint serves, newest first. */
export const LEGACY_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;

/** Assumed when a client sends no `MCP-Protocol-Version` and nothing else says (SPEC rule 17). */
export const DEFAULT_PROTOCOL_VERSION = '2025-03-26';

/** The first version whose clients accept the priming event (an id with empty data). */
const PRIMING_MIN_VERSION = '2025-11-25';

export function isLegacyVersion(version: string): boolean {
  return (LEGACY_PROTOCOL_VERSIONS as readonly string[]).includes(version);
}

/** Whether clients of this version accept an SSE event with an id and empty data. */
export function acceptsPriming(protocolVersion: string): boolean {
  return protocolVersion >= PRIMING_MIN_VERSION;
}

/** JSON-RPC batches were removed in 2025-06-18: only 2025-03-26 sessions may send them. */
export function allowsBatches(protocolVersion: string): boolean {
  return protocolVersion === '2025-03-26';
}

/** The version an `initialize` asked for. */
export function requestedVersion(params: Record<string, unknown>): string {
  return typeof params.protocolVersion === 'string' ? params.protocolVersion : DEFAULT_PROTOCOL_VERSION;
}
