/** A canonical JSON text of request params: keys sorted, `_meta` left out. */

export interface StableJsonOptions {
  /** Top-level members left out besides `_meta`. */
  readonly omit?: readonly string[];
  /** `_meta` left out at every depth (default, for cache keys), or of the top level only. */
  readonly meta?: 'all' | 'top';
}

/** JSON of `value` with object keys sorted and `_meta` (and the top-level `omit` members) left out. */
export function stableJson(value: unknown, options: StableJsonOptions = {}): string {
  const { omit = [], meta = 'all' } = options;
  const sorted = (node: unknown, top: boolean): unknown => {
    if (Array.isArray(node)) return node.map((item) => sorted(item, false));
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(
      Object.keys(node)
        .filter((name) => !(name === '_meta' && (top || meta === 'all')) && !(top && omit.includes(name)))
        .sort()
        .map((name) => [name, sorted((node as Record<string, unknown>)[name], false)]),
    );
  };
  return value === undefined ? '' : JSON.stringify(sorted(value, true));
}
