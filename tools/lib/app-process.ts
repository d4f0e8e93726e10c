import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { sleep, waitFor } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Children die with their parent: a test run or benchmark that is interrupted must not leave apps running.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
export type AppName = 'gateway' | 'chats';

/** Where `npm run build` (the Nest CLI's tsc builder, which mirrors the source tree) puts an app's entry point. */
export function bundleFile(app: AppName): string {
  return `${REPO_ROOT}dist/apps/${app}/apps/${app}/src/main.js`;
}

export function bundlePath(app: AppName): string {
  const path = bundleFile(app);
  if (!existsSync(path)) throw new Error(`${path} is missing: run "npm run build" first`);
  return path;
}

export interface StartOptions {
  /** Called with each chunk the process prints (its output is kept for `logs()` either way). */
  onOutput?: (chunk: string) => void;
  /** Extra arguments for node, before the bundle (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

/**
 * One running app process: a built bundle started with plain node, as in production. Used by the tests, the
 * benchmark and `npm start`.
 */
export class AppProcess {
  readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly app: AppName,
    readonly name: string,
    readonly port: number,
    readonly proc: ChildProcess,
    onOutput?: (chunk: string) => void,
  ) {
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
    );
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output.push(text);
      if (this.output.length > 2000) this.output.splice(0, 1000);
      onOutput?.(text);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  /** Starts `app` with `env` (PORT picked when absent) and resolves once its /health/ready answers 200. */
  static async start(
    app: AppName,
    name: string,
    env: Record<string, string>,
    opts: StartOptions = {},
  ): Promise<AppProcess> {
    const port = env.PORT ? Number(env.PORT) : await freePort();
    const proc = spawn(
      process.execPath,
      [...(opts.nodeArgs ?? []), '--enable-source-maps', bundlePath(app)],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH,
          ...env,
          PORT: String(port),
          INSTANCE_ID: name,
          LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const instance = new AppProcess(app, name, port, proc, opts.onOutput);
    try {
      const outcome = await waitFor(
        `${name} to be ready`,
        async () => {
          if (!instance.alive) return 'exited';
          const res = await fetch(`${instance.url}/health/ready`).catch(() => undefined);
          return res?.status === 200 ? 'ready' : undefined;
        },
        opts.readyTimeoutMs ?? 60_000,
        100,
      );
      if (outcome === 'exited') throw new Error(`${name} exited with ${proc.exitCode}:\n${instance.logs()}`);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    return instance;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves with the exit code (-1 when killed by a signal) once the process is gone. */
  get exit(): Promise<number | null> {
    return this.exited;
  }

  logs(): string {
    return this.output.join('');
  }

  /** Sends `signal` and waits for the process to be gone (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    if (!this.alive) return this.exited;
    this.proc.kill(signal);
    const code = await Promise.race([this.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.proc.kill('SIGKILL');
      return this.exited;
    }
    return code;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  /** Sum of a Prometheus metric's samples whose labels contain every given pair. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    let total = 0;
    for (const line of (await this.metrics()).split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const labelText = m[2] ?? '';
      if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(m[3]);
    }
    return total;
  }
}

/** Runs a built app's one-shot command (e.g. `chats migrate`) and returns its exit code and output. */
export async function runCommand(
  app: AppName,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [bundlePath(app), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return { code, output };
}
