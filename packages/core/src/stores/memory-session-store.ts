import type { SessionAccess, SessionRecord, SessionStore, StateWriteOptions, StateWriteResult } from './types.js';
import { sessionDeadline } from './types.js';

interface StateEntry {
  value: string;
  expiresAt: number | undefined;
}

/**
 * Session records in this process's memory. Records are kept in order of last activity, so the least
 * recently active come first without sorting. Share one instance between endpoints to run several
 * "nodes" in one process.
 */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, SessionRecord>();
  readonly #state = new Map<string, Map<string, StateEntry>>();
  readonly #alive = new Map<string, number>();

  markAlive(instanceId: string, now: number, ttlMs: number): void {
    this.#alive.set(instanceId, now + ttlMs);
    for (const [id, until] of this.#alive) if (until <= now) this.#alive.delete(id);
  }

  isAlive(instanceId: string, now: number): boolean {
    return (this.#alive.get(instanceId) ?? 0) > now;
  }

  create(record: SessionRecord): void {
    this.#records.set(record.id, { ...record });
  }

  get(id: string, now: number): SessionRecord | undefined {
    const record = this.#records.get(id);
    // Copies, as a remote store would return: a caller never changes what is stored.
    return record !== undefined && sessionDeadline(record) > now ? { ...record } : undefined;
  }

  touch(id: string, now: number, access?: SessionAccess): SessionRecord | undefined {
    const record = this.#records.get(id);
    if (record === undefined || sessionDeadline(record) <= now) return undefined;
    if (access !== undefined && record.principal !== access.principal) return undefined;
    record.lastActiveAt = Math.max(record.lastActiveAt, now);
    if (access?.countRequest) record.requestCount += 1;
    // Re-insert to keep the map in order of activity.
    this.#records.delete(id);
    this.#records.set(id, record);
    return { ...record };
  }

  delete(id: string): boolean {
    this.#state.delete(id);
    return this.#records.delete(id);
  }

  takeExpired(now: number, limit: number): SessionRecord[] {
    const expired: SessionRecord[] = [];
    for (const record of this.#records.values()) {
      if (expired.length >= limit) break;
      if (sessionDeadline(record) <= now) expired.push(record);
    }
    for (const record of expired) {
      this.#records.delete(record.id);
      this.#state.delete(record.id);
    }
    return expired;
  }

  leastRecentlyActive(limit: number): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const record of this.#records.values()) {
      if (out.length >= limit) break;
      out.push({ ...record });
    }
    return out;
  }

  count(): number {
    return this.#records.size;
  }

  list(): SessionRecord[] {
    return [...this.#records.values()].map((record) => ({ ...record }));
  }

  getState(sessionId: string, key: string, now: number): string | undefined {
    const entry = this.#state.get(sessionId)?.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      this.#state.get(sessionId)?.delete(key);
      return undefined;
    }
    return entry.value;
  }

  setState(sessionId: string, key: string, value: string, options: StateWriteOptions): StateWriteResult {
    if (!this.#records.has(sessionId)) return { ok: false, reason: 'no-session' };
    let entries = this.#state.get(sessionId);
    if (entries === undefined) this.#state.set(sessionId, (entries = new Map()));
    let keys = 0;
    let bytes = 0;
    for (const [name, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= options.now) {
        entries.delete(name);
        continue;
      }
      if (name === key) continue;
      keys += 1;
      bytes += Buffer.byteLength(name) + Buffer.byteLength(entry.value);
    }
    if (keys + 1 > options.maxKeys) return { ok: false, reason: 'too-many-keys' };
    if (bytes + Buffer.byteLength(key) + Buffer.byteLength(value) > options.maxBytes) return { ok: false, reason: 'too-large' };
    entries.set(key, { value, expiresAt: options.ttlMs === undefined ? undefined : options.now + options.ttlMs });
    return { ok: true };
  }

  deleteState(sessionId: string, key: string): boolean {
    return this.#state.get(sessionId)?.delete(key) ?? false;
  }

  stateKeys(sessionId: string, now: number): string[] {
    const entries = this.#state.get(sessionId);
    if (entries === undefined) return [];
    const keys: string[] = [];
    for (const [name, entry] of entries) if (entry.expiresAt === undefined || entry.expiresAt > now) keys.push(name);
    return keys;
  }

  clearState(sessionId: string): void {
    this.#state.delete(sessionId);
  }
}
