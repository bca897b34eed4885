/** Small helpers shared by core's unit tests: a clock that moves only when told, a quiet logger, a deferred promise. */
import type { Clock, Logger } from '../src/types.js';

export interface ManualClock extends Clock {
  /** Moves time forward and returns the new now. */
  advance(ms: number): number;
}

/** A clock that stands still until `advance` is called. */
export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => (now += ms),
  };
}

/** A logger that keeps what it is told, for assertions. */
export function recordingLogger(): Logger & { readonly lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, message, fields });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and I/O callback of this turn run (no time passes). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
