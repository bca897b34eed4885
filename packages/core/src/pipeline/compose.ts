import type { JsonRpcResult, MessageContext, MessageMiddleware, Next } from '../types.js';

/** Composes middleware into one function around `innermost` (the server), outermost first. */
export function compose(middleware: readonly MessageMiddleware[]): (ctx: MessageContext, innermost: Next) => Promise<JsonRpcResult> {
  return function run(ctx, innermost) {
    const dispatch = async (index: number): Promise<JsonRpcResult> => {
      const current = middleware[index];
      if (current === undefined) return innermost();
      let called = false;
      return current(ctx, () => {
        if (called) return Promise.reject(new Error('next() called more than once'));
        called = true;
        return dispatch(index + 1);
      });
    };
    return dispatch(0);
  };
}
