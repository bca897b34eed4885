/** compose(): middleware in onion order around an innermost call. */
import { describe, expect, it } from 'vitest';
import { compose } from '../src/pipeline/compose.js';
import type { JsonRpcResult, MessageContext, MessageMiddleware } from '../src/types.js';

/** compose() passes the context through without reading it. */
const ctx = { method: 'tools/call', locals: {} } as unknown as MessageContext;

describe('compose', () => {
  it('with no middleware calls the innermost function', async () => {
    let calls = 0;
    const result = await compose([])(ctx, async () => {
      calls += 1;
      return { from: 'server' };
    });
    expect(result).toEqual({ from: 'server' });
    expect(calls).toBe(1);
  });

  it('runs middleware in onion order, outermost first, and each sees what the inner ones returned', async () => {
    const trace: string[] = [];
    const layer =
      (name: string): MessageMiddleware =>
      async (_ctx, next) => {
        trace.push(`${name} in`);
        const result = await next();
        trace.push(`${name} out`);
        return { ...result, path: [...((result.path as string[] | undefined) ?? []), name] };
      };
    const result = await compose([layer('outer'), layer('middle'), layer('inner')])(ctx, async () => {
      trace.push('server');
      return { path: [] };
    });
    expect(trace).toEqual(['outer in', 'middle in', 'inner in', 'server', 'inner out', 'middle out', 'outer out']);
    expect(result).toEqual({ path: ['inner', 'middle', 'outer'] });
  });

  it('passes the same context to every middleware', async () => {
    const seen: MessageContext[] = [];
    const record: MessageMiddleware = (c, next) => {
      seen.push(c);
      return next();
    };
    await compose([record, record])(ctx, async () => ({}));
    expect(seen).toEqual([ctx, ctx]);
    expect(seen[0]).toBe(ctx);
  });

  it('a middleware that answers without next() short-circuits the rest and the innermost', async () => {
    const trace: string[] = [];
    const result = await compose([
      async (_c, next) => {
        trace.push('outer');
        return next();
      },
      () => {
        trace.push('answering');
        return { cached: true };
      },
      (_c, next) => {
        trace.push('never');
        return next();
      },
    ])(ctx, async () => {
      trace.push('server');
      return {};
    });
    expect(result).toEqual({ cached: true });
    expect(trace).toEqual(['outer', 'answering']);
  });

  it('next() called twice rejects the second time, and the inner chain ran once', async () => {
    let serverCalls = 0;
    let second: unknown;
    const result = await compose([
      async (_c, next) => {
        const first = await next();
        second = await next().catch((error: unknown) => error);
        return first;
      },
    ])(ctx, async () => {
      serverCalls += 1;
      return { n: serverCalls };
    });
    expect(result).toEqual({ n: 1 });
    expect(serverCalls).toBe(1);
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toMatch(/next\(\) called more than once/);
  });

  it('an error thrown by a middleware or the innermost rejects the whole chain, and outer middleware can catch it', async () => {
    const failing = compose([
      async (_c, next) => {
        try {
          return await next();
        } catch (error) {
          return { recovered: (error as Error).message };
        }
      },
      () => {
        throw new Error('inner failed');
      },
    ]);
    expect(await failing(ctx, async () => ({}))).toEqual({ recovered: 'inner failed' });
    const serverDown = compose([(_c, next) => next()]);
    await expect(serverDown(ctx, () => Promise.reject(new Error('server down')))).rejects.toThrow('server down');
  });

  it('a composed chain can run many times; each run has its own next() guard', async () => {
    const chain = compose([(_c, next) => next()]);
    const results: JsonRpcResult[] = [];
    for (let i = 0; i < 3; i++) results.push(await chain(ctx, async () => ({ i })));
    expect(results).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
  });
});
