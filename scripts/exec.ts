import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface ExecOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Runs a command to its end and resolves with what it printed; it prints nothing itself. A failure
 * rejects with the command line and everything it printed, so a test run stays quiet until a step fails.
 */
export function exec(command: string, args: readonly string[], options: ExecOptions): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const reason = error.killed ? `timed out after ${options.timeoutMs ?? 300_000} ms` : `exited with ${String(error.code)}`;
        reject(new Error(`${[command, ...args].join(' ')} (in ${options.cwd}) ${reason}\n${stdout}\n${stderr}`.trimEnd()));
      },
    );
  });
}

const repositoryRoot = new URL('../', import.meta.url);

/**
 * pnpm as the running pnpm (a script started by `pnpm run` has it as npm_execpath), else the release
 * the root package.json pins, through npx.
 */
export function pnpmCommand(): { command: string; args: string[] } {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && basename(execPath).startsWith('pnpm')) return { command: process.execPath, args: [execPath] };
  const { packageManager } = JSON.parse(readFileSync(new URL('package.json', repositoryRoot), 'utf8')) as { packageManager: string };
  return { command: 'npx', args: ['--yes', packageManager.split('+')[0]!] };
}

let npmConfigKeys: Set<string> | undefined;

/**
 * The environment for an npm started from a pnpm script. pnpm passes its own settings on as
 * `npm_config_*` variables, and npm warns about each one it does not know ("Unknown env config").
 * This keeps the variables npm knows (a registry or a cache set in the environment still reaches npm)
 * and drops the rest.
 */
export function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const isNpmConfig = (key: string) => key.toLowerCase().startsWith('npm_config_');
  if (npmConfigKeys === undefined) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !isNpmConfig(key)));
    const listed = execFileSync('npm', ['config', 'ls', '--long', '--json'], {
      env: clean,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    npmConfigKeys = new Set(Object.keys(JSON.parse(listed) as Record<string, unknown>));
  }
  const known = npmConfigKeys;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (isNpmConfig(key)) {
      // npm's own reading of an env key: `npm_config_foo_bar` is the setting `foo-bar`.
      const setting = key
        .slice('npm_config_'.length)
        .replace(/(?!^)_/g, '-')
        .toLowerCase();
      if (!known.has(setting) && !setting.startsWith('//') && !setting.includes(':')) continue;
    }
    env[key] = value;
  }
  return { ...env, ...extra };
}
