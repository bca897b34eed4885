/** The lifecycle sweeper: its tasks in order, one sweep at a time, failures reported, and its unref'd timer. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Sweeper } from '../src/sessions/sweeper.js';
import { deferred, manualClock, nextTurn } from './helpers.js';

const sweepers: Sweeper[] = [];
afterEach(async () => {
  for (const sweeper of sweepers.splice(0)) await sweeper.stop();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function sweeper(options: { intervalMs?: number } = {}) {
  const clock = manualClock();
  const errors: unknown[] = [];
  const instance = new Sweeper({ clock, intervalMs: options.intervalMs ?? 3_600_000, reportError: (error) => void errors.push(error) });
  sweepers.push(instance);
  return { sweeper: instance, clock, errors };
}

describe('Sweeper.sweep', () => {
  it('runs its tasks in the order they were added, each with the clock at the start of the sweep', async () => {
    const { sweeper: s, clock } = sweeper();
    const ran: Array<[string, number]> = [];
    s.add(async (now) => {
      clock.advance(5);
      await Promise.resolve();
      ran.push(['heartbeat', now]);
    });
    s.add((now) => void ran.push(['expire', now]));
    s.add(async (now) => void ran.push(['hibernate', now]));
    const start = clock.now();
    await s.sweep();
    expect(ran).toEqual([
      ['heartbeat', start],
      ['expire', start],
      ['hibernate', start],
    ]);
  });

  it('runs one sweep at a time: a sweep asked for during one joins it', async () => {
    const { sweeper: s } = sweeper();
    const gate = deferred();
    let started = 0;
    let finished = 0;
    s.add(async () => {
      started += 1;
      await gate.promise;
      finished += 1;
    });
    const first = s.sweep();
    const second = s.sweep();
    await nextTurn();
    expect(started).toBe(1);
    gate.resolve();
    await Promise.all([first, second]);
    expect(finished).toBe(1);
    // Once it is over, the next sweep runs the tasks again.
    await s.sweep();
    expect(started).toBe(2);
  });

  it('a failing task is reported and the next task still runs (a store out of reach stops no deadline)', async () => {
    const { sweeper: s, errors } = sweeper();
    const storeDown = new Error('store out of reach');
    const ran: string[] = [];
    let fail = true;
    s.add(() => void ran.push('first'));
    s.add(async () => {
      ran.push('second');
      if (fail) throw storeDown;
    });
    s.add(() => void ran.push('third'));
    await expect(s.sweep()).resolves.toBeUndefined();
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(errors).toEqual([storeDown]);
    await expect(s.sweep()).resolves.toBeUndefined();
    expect(errors).toEqual([storeDown, storeDown]);
    fail = false;
    await s.sweep();
    expect(ran).toEqual(['first', 'second', 'third', 'first', 'second', 'third', 'first', 'second', 'third']);
    expect(errors).toHaveLength(2);
  });
});

describe('Sweeper.stop', () => {
  it('waits for the sweep under way, and later sweeps do nothing', async () => {
    const { sweeper: s } = sweeper();
    const gate = deferred();
    let runs = 0;
    s.add(async () => {
      runs += 1;
      await gate.promise;
    });
    const running = s.sweep();
    let stopped = false;
    const stopping = s.stop().then(() => void (stopped = true));
    await nextTurn();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    await running;
    expect(stopped).toBe(true);
    await s.sweep();
    expect(runs).toBe(1);
  });
});

describe('Sweeper timer', () => {
  it('sweeps every intervalMs, and not after stop()', async () => {
    vi.useFakeTimers();
    const { sweeper: s } = sweeper({ intervalMs: 1_000 });
    let runs = 0;
    s.add(() => void (runs += 1));
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(runs).toBe(4);
    await s.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(4);
  });

  it('a tick during a slow sweep joins it instead of starting another', async () => {
    vi.useFakeTimers();
    const { sweeper: s } = sweeper({ intervalMs: 1_000 });
    const gate = deferred();
    let started = 0;
    s.add(async () => {
      started += 1;
      await gate.promise;
    });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(started).toBe(1);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toBe(2);
  });

  it("is unref'd: it never keeps the process alive", () => {
    vi.useFakeTimers();
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    sweeper({ intervalMs: 1_000 });
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    const timer = setIntervalSpy.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
  });
});
