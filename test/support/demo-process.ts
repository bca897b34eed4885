import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** A demo server (`examples/demo/server.ts`) in a child process of its own. */
export interface DemoProcess {
  url: string;
  child: ChildProcess;
  /** What the process printed so far, on stdout and stderr. */
  output(): string;
  /**
   * Resolves once the output matches `pattern`. Standard error is a pipe of its own: what the
   * process wrote there before its ready line may be read after it.
   */
  printed(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Ends the process: SIGKILL for a crash, SIGTERM for a clean stop. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const root = new URL('../..', import.meta.url).pathname;

/** Starts the demo on a free port with `env` added to this process's environment (undefined leaves a variable out). */
export async function startDemoProcess(env: Record<string, string | undefined>): Promise<DemoProcess> {
  const environment: Record<string, string | undefined> = { ...process.env, PORT: '0', ...env };
  for (const [name, value] of Object.entries(environment)) if (value === undefined) delete environment[name];
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@x/source', 'examples/demo/server.ts'], {
    cwd: root,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const printedMore = new Set<() => void>();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const check of printedMore) check();
      const match = /MCP demo server on (http:\/\/\S+\/mcp)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const check of printedMore) check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    child,
    output: () => output,
    printed(pattern, timeoutMs = 5_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          printedMore.delete(check);
          reject(new Error(`the demo did not print ${String(pattern)} within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const check = () => {
          if (!pattern.test(output)) return;
          clearTimeout(timer);
          printedMore.delete(check);
          resolve();
        };
        printedMore.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}
