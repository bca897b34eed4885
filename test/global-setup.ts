import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { conformanceNodePath, CONFORMANCE_NODE_VERSION } from '@x/mcp-session-testing';
import { npmEnv } from '../scripts/exec.js';

/**
 * The official conformance suite needs Node >= 22; the library supports 20. On an older Node, put a
 * Node 22 binary from the npm registry (the node-<platform>-<arch> package) under .tools/ once,
 * before any test file runs, for the conformance tool alone. Tests keep running on the Node they
 * were started with. npm's output shows only when the install fails.
 */
export default function setup(): void {
  if (Number(process.versions.node.split('.')[0]) >= 22) return;
  const { binary, prefix, pkg } = conformanceNodePath();
  if (existsSync(binary)) return;
  const args = [
    'install',
    '--prefix',
    prefix,
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    `${pkg}@${CONFORMANCE_NODE_VERSION}`,
  ];
  try {
    execFileSync('npm', args, { env: npmEnv(), stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  }
  if (!existsSync(binary)) throw new Error(`installing ${pkg}@${CONFORMANCE_NODE_VERSION} did not provide ${binary}`);
}
