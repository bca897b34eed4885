/** What every fuzz run reads from the environment: the seed, the counts, the failure cap, the deadline. */

const DEFAULT_SEED = 0x6d637066;

function seedFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_SEED;
  const seed = Number(value.trim());
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`MCP_FUZZ_SEED must be an integer in [0, 2^32): ${value}`);
  return seed;
}

export function positiveFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${name} must be a positive integer: ${value}`);
  return number;
}

/** MCP_FUZZ_SEED (decimal or 0x hex): which requests every fuzz run generates. */
export const SEED = seedFromEnv(process.env.MCP_FUZZ_SEED);
/** MCP_FUZZ_MAX_FAILURES: how many failures end a run early (20). */
export const MAX_FAILURES = positiveFromEnv('MCP_FUZZ_MAX_FAILURES', 20);
/** MCP_FUZZ_VERBOSE=1 prints a tally of the answers of every run. */
export const VERBOSE = process.env.MCP_FUZZ_VERBOSE === '1';
/** Every request must be answered, body and all, within this (a timeout is a failure: "none hangs"). */
export const DEADLINE_MS = 5_000;

export const hex = (seed: number) => `0x${seed.toString(16).padStart(8, '0')}`;
