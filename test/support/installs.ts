/**
 * What README.md tells a user to install for each framework, beside the packages themselves. The README
 * test checks that the README says exactly this, and the consumer test installs exactly this.
 */
export const FRAMEWORK_INSTALLS = {
  express: { runtime: ['@modelcontextprotocol/server', 'express', 'zod'], dev: ['typescript', 'tsx', '@types/express', '@types/node'] },
  koa: { runtime: ['@modelcontextprotocol/server', 'koa', 'zod'], dev: ['typescript', 'tsx', '@types/koa', '@types/node'] },
  fastify: { runtime: ['@modelcontextprotocol/server', 'fastify', 'zod'], dev: ['typescript', 'tsx', '@types/node'] },
} as const;

/** The Redis stores, for any of them. */
export const REDIS_INSTALL = { runtime: ['ioredis'] } as const;

export type Framework = keyof typeof FRAMEWORK_INSTALLS;

/** The README's install lines for a framework: from the tarballs `pnpm release:dry` packs, and from the registry. */
export function readmeInstallLines(framework: Framework): { tarballs: string[]; registry: string } {
  const { runtime, dev } = FRAMEWORK_INSTALLS[framework];
  return {
    tarballs: [
      `npm install $R/x-mcp-session-core-*.tgz $R/x-mcp-session-${framework}-*.tgz ${runtime.join(' ')}`,
      `npm install --save-dev ${dev.join(' ')}`,
    ],
    registry: `npm install @x/mcp-session-${framework} ${runtime.join(' ')}`,
  };
}
