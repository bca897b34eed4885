/** Summarizes a V8 `.cpuprofile`: self time by function and by package. */
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script comes from: a workspace package, an npm package, Node itself, or V8. */
function origin(url: string): string {
  if (url === '') return '(v8/native)';
  if (url.startsWith('node:')) return 'node:*';
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm?.[1] !== undefined) return pnpm[1];
  const workspace = /\/(packages\/[^/]+|bench|test)\//.exec(url);
  if (workspace?.[1] !== undefined) return workspace[1];
  return url;
}

/** A script's URL relative to its npm package, or to the checkout (one of `roots`) it is in. */
function shortUrl(url: string, roots: string[]): string {
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(url);
  if (pnpm?.[1] !== undefined) return pnpm[1];
  for (const root of roots) {
    const prefix = `${pathToFileURL(root).href}/`;
    if (url.startsWith(prefix)) return url.slice(prefix.length);
  }
  return url;
}

export interface ProfileSummary {
  totalMs: number;
  functions: Array<{ name: string; where: string; selfMs: number }>;
  origins: Array<{ origin: string; selfMs: number }>;
}

/** `roots`: the checkouts whose files are named relative to them. */
export function summarizeProfile(json: string, roots: string[], top = 25): ProfileSummary {
  const profile = JSON.parse(json) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const functions = new Map<string, { name: string; where: string; selfMs: number }>();
  const origins = new Map<string, number>();
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const ms = us / 1000;
    totalMs += ms;
    const name = frame.functionName || '(anonymous)';
    const where = frame.url === '' ? '' : `${shortUrl(frame.url, roots)}:${frame.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, selfMs: 0 };
    entry.selfMs += ms;
    functions.set(key, entry);
    const from = frame.url === '' ? name : origin(frame.url);
    origins.set(from, (origins.get(from) ?? 0) + ms);
  }
  return {
    totalMs,
    functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    origins: [...origins.entries()]
      .map(([from, selfMs]) => ({ origin: from, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top),
  };
}
