/**
 * The one lifecycle timer: every `sweepIntervalMs` it runs the tasks the modules registered
 * (request deadlines, heartbeat, orphaned streams, activity of open streams, expiry, hibernation),
 * in that order, one sweep at a time; a task that fails is reported and the next one runs. The timer is `unref()`ed: it never keeps a process alive.
 */
import type { Clock } from '../types.js';

export type SweepTask = (now: number) => Promise<void> | void;

export class Sweeper {
  readonly #clock: Clock;
  readonly #reportError: (error: unknown) => void;
  readonly #tasks: SweepTask[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: { clock: Clock; intervalMs: number; reportError: (error: unknown) => void }) {
    this.#clock = options.clock;
    this.#reportError = options.reportError;
    this.#timer = setInterval(() => void this.sweep(), options.intervalMs);
    this.#timer.unref();
  }

  /** Adds a task, run after those added before it. */
  add(task: SweepTask): void {
    this.#tasks.push(task);
  }

  /** Runs every task once, or joins the sweep under way. */
  sweep(): Promise<void> {
    this.#running ??= this.#runOnce().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a sweep under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #runOnce(): Promise<void> {
    if (this.#stopped) return;
    const now = this.#clock.now();
    // Tasks fail alone: a store out of reach stops neither deadlines nor hibernation, which need none.
    for (const task of this.#tasks) {
      try {
        await task(now);
      } catch (error) {
        this.#reportError(error);
      }
    }
  }
}
