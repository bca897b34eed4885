/** A canonical JSON text of request params: keys sorted, `_meta` left out at every depth. */

/** JSON of `value` with object keys sorted and every `_meta` member (and the top-level `omit` members) left out. */
export function stableJson(value: unknown, omit: readonly string[] = []): string {
  const sorted = (node: unknown, top: boolean): unknown => {
    if (Array.isArray(node)) return node.map((item) => sorted(item, false));
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(
      Object.keys(node)
        .filter((name) => name !== '_meta' && !(top && omit.includes(name)))
        .sort()
        .map((name) => [name, sorted((node as Record<string, unknown>)[name], false)]),
    );
  };
  return value === undefined ? '' : JSON.stringify(sorted(value, true));
}
