/**
 * `--import <this file>` (bench/harness.ts adds it): the bench's target processes load our packages from their
 * build (packages/<name>/dist, what a user installs), not from their TypeScript sources through tsx.
 * See resolve.mjs.
 */
import { register } from 'node:module';

register('./resolve.mjs', import.meta.url);
