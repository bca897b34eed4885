'use strict';
// pnpm pack and pnpm publish (and so changeset publish) write the published form of each manifest:
// see scripts/manifest.cjs. The repository's package.json files stay as they are.
const { publishedManifest } = require('./scripts/manifest.cjs');

module.exports = {
  hooks: {
    beforePacking: (pkg) => publishedManifest(pkg),
  },
};
