import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { conformanceNodePath, CONFORMANCE_NODE_VERSION } from '@x/mcp-session-testing';

/**
 * The official conformance suite needs Node >= 22; the library supports 20. On an older Node, put a
 * Node 22 binary from the npm registry (the node-<platform>-<arch> package) under .tools/ once,
 * before any test file runs, for the conformance tool alone. Tests keep running on the Node they
 * were started with.
 */
export default function setup(): void {
  if (Number(process.versions.node.split('.')[0]) >= 22) return;
  const { binary, prefix, pkg } = conformanceNodePath();
  if (existsSync(binary)) return;
  execFileSync(
    'npm',
    ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkg}@${CONFORMANCE_NODE_VERSION}`],
    {
      stdio: 'inherit',
    },
  );
  if (!existsSync(binary)) throw new Error(`installing ${pkg}@${CONFORMANCE_NODE_VERSION} did not provide ${binary}`);
}
