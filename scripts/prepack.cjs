'use strict';
// Every public package's prepack: only pnpm 10.28 or newer packs these packages right. npm would
// publish `workspace:` ranges, and an older pnpm would publish exports that name ./src/*.ts (it has no
// beforePacking hook, see .pnpmfile.cjs). The build must also have run.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { entriesOf } = require('./manifest.cjs');

const agent = process.env.npm_config_user_agent ?? '';
const match = /^pnpm\/(\d+)\.(\d+)\./.exec(agent);
if (match === null || Number(match[1]) < 10 || (Number(match[1]) === 10 && Number(match[2]) < 28)) {
  console.error(
    `Pack and publish these packages with pnpm 10.28 or newer (pnpm release:dry, pnpm release), not ${agent.split(' ')[0] || 'this tool'}.`,
  );
  process.exit(1);
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const missing = entriesOf(pkg)
  .flatMap((entry) => [entry.import, entry.importTypes, entry.require, entry.requireTypes])
  .filter((file) => !existsSync(join(process.cwd(), file)));
if (missing.length > 0) {
  console.error(`${pkg.name}: ${missing.join(', ')} missing: run pnpm build first.`);
  process.exit(1);
}
