import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

/** A demo server (`examples/demo/server.ts`) in a child process of its own. */
export interface DemoProcess {
  url: string;
  child: ChildProcess;
  /** What the process printed until it was ready, on stdout and stderr. */
  output(): string;
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
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /MCP demo server on (http:\/\/\S+\/mcp)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
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
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}
