/**
 * A seeded PRNG and a small JSON tree that can say what `JSON.stringify` cannot: numbers as literal
 * text (`9007199254740993`, `1e400`, `-0`), `__proto__` as an ordinary key, and a key twice.
 */

/** mulberry32: a 32-bit seeded generator, good enough to pick test inputs and fully reproducible. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let point = this.next() * total;
    for (const [weight, value] of choices) {
      point -= weight;
      if (point < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }
}

/** A number (or any JSON) written exactly as given. */
export class JRaw {
  constructor(readonly text: string) {}
}

/** An object as an ordered list of entries: keys may repeat, and `__proto__` is just a key. */
export class JObj {
  constructor(readonly entries: Array<[string, J]>) {}

  get(key: string): J | undefined {
    for (let i = this.entries.length - 1; i >= 0; i -= 1) if (this.entries[i]![0] === key) return this.entries[i]![1];
    return undefined;
  }

  has(key: string): boolean {
    return this.entries.some(([name]) => name === key);
  }

  /** Leaves one entry of `key`, holding `value` (appended when absent). */
  set(key: string, value: J): this {
    let seen = false;
    for (let i = 0; i < this.entries.length;) {
      const entry = this.entries[i]!;
      if (entry[0] !== key) i += 1;
      else if (seen) this.entries.splice(i, 1);
      else {
        entry[1] = value;
        seen = true;
        i += 1;
      }
    }
    if (!seen) this.entries.push([key, value]);
    return this;
  }

  delete(key: string): this {
    const kept = this.entries.filter(([name]) => name !== key);
    this.entries.splice(0, this.entries.length, ...kept);
    return this;
  }

  add(key: string, value: J): this {
    this.entries.push([key, value]);
    return this;
  }

  /** The object under `key`; an empty one is set there first when it holds anything else or nothing. */
  child(key: string): JObj {
    const current = this.get(key);
    if (current instanceof JObj) return current;
    const fresh = new JObj([]);
    this.set(key, fresh);
    return fresh;
  }
}

export type J = null | boolean | number | string | JRaw | JObj | J[];

/** A plain JSON value (from a literal in the test) as a tree. Object keys become entries in order. */
export function tree(value: unknown): J {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value;
  if (value instanceof JRaw || value instanceof JObj) return value;
  if (Array.isArray(value)) return value.map(tree);
  if (typeof value === 'object') return new JObj(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, tree(item)]));
  throw new Error(`not JSON: ${String(value)}`);
}

/** A deep copy, so a mutation never touches a template. */
export function clone(value: J): J {
  if (value instanceof JObj) return new JObj(value.entries.map(([key, item]) => [key, clone(item)]));
  if (Array.isArray(value)) return value.map(clone);
  return value;
}

/** JSON text of the tree. */
export function serialize(value: J): string {
  if (value instanceof JRaw) return value.text;
  if (value instanceof JObj) return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${serialize(item)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  return JSON.stringify(value);
}
