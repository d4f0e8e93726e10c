import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, REPO_ROOT, sleep, waitFor, type AppName } from '@parley/testing';

const run = promisify(execFile);

// Children die with their parent, as AppProcess's do: an interrupted run must not leave an old build serving.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Both apps of one commit in a single TypeScript program, without type checking: that commit passed its own CI, so
 * checking it again proves nothing, and one unchecked program takes about 6 s where `nest build gateway && nest
 * build chats` takes about 25 s on 2 cores. The emitted JavaScript is the same file for file (decorator metadata
 * included); only the layout differs: dist/upgrade-test/apps/<app>/src/main.js.
 */
const BUILD_TSCONFIG = {
  extends: './tsconfig.json',
  compilerOptions: {
    outDir: './dist/upgrade-test',
    incremental: false,
    tsBuildInfoFile: null,
    declaration: false,
    noCheck: true,
  },
  include: ['apps/gateway/src/**/*.ts', 'apps/chats/src/**/*.ts', 'libs/*/src/**/*.ts'],
  exclude: ['node_modules', 'dist', '**/*.spec.ts', 'libs/client/**'],
};

/** An older commit of this repository, extracted into a temporary folder and built there with today's packages. */
export class OldBuild {
  private constructor(
    readonly commit: string,
    readonly dir: string,
  ) {}

  /** Extracts `commit` with `git archive`, links the repository's node_modules into it and builds both apps. */
  static async build(commit: string): Promise<OldBuild> {
    const resolved = await run('git', [
      '-C',
      REPO_ROOT,
      'rev-parse',
      '--verify',
      '--quiet',
      `${commit}^{commit}`,
    ])
      .then((r) => r.stdout.trim())
      .catch(() => undefined);
    if (!resolved) {
      throw new Error(
        `Commit ${commit} is not in the repository at ${REPO_ROOT} (a shallow clone?): the upgrade test needs it ` +
          'to build the old code. Fetch the full history (git fetch --unshallow) and run the test again.',
      );
    }
    const dir = await mkdtemp(join(tmpdir(), `parley-${commit.slice(0, 7)}-`));
    const build = new OldBuild(resolved, dir);
    try {
      const tarball = `${dir}.tar`;
      await run('git', ['-C', REPO_ROOT, 'archive', '--format=tar', '-o', tarball, resolved]);
      await run('tar', ['-xf', tarball, '-C', dir]).finally(() => rm(tarball, { force: true }));
      await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      await writeFile(join(dir, 'tsconfig.upgrade-test.json'), JSON.stringify(BUILD_TSCONFIG, null, 2));
      const nest = join(REPO_ROOT, 'node_modules/@nestjs/cli/bin/nest.js');
      await run(process.execPath, [nest, 'build', 'gateway', '-p', 'tsconfig.upgrade-test.json'], {
        cwd: dir,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `Building ${commit} in ${dir} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
        );
      });
    } catch (err) {
      await build.remove();
      throw err;
    }
    return build;
  }

  entry(app: AppName): string {
    return join(this.dir, 'dist/upgrade-test/apps', app, 'src/main.js');
  }

  /** A one-shot command of the old build (e.g. `chats migrate`); throws with its output when it fails. */
  async command(app: AppName, args: string[], env: Record<string, string>): Promise<string> {
    const { stdout, stderr } = await run(process.execPath, [this.entry(app), ...args], {
      cwd: this.dir,
      env: { PATH: process.env.PATH, ...env },
      timeout: 120_000,
    }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `${this.commit.slice(0, 7)} ${app} ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
    });
    return stdout + stderr;
  }

  /** Starts an app of the old build, as AppProcess starts today's, and resolves once its /health/ready answers 200. */
  async start(app: AppName, name: string, env: Record<string, string>): Promise<OldProcess> {
    const port = await freePort();
    const proc = spawn(process.execPath, ['--enable-source-maps', this.entry(app)], {
      cwd: this.dir,
      env: { PATH: process.env.PATH, ...env, PORT: String(port), INSTANCE_ID: name, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const instance = new OldProcess(name, port, proc);
    try {
      const outcome = await waitFor(
        `${name} (${this.commit.slice(0, 7)}) to be ready`,
        async () => {
          if (!instance.alive) return 'exited';
          const res = await fetch(`${instance.url}/health/ready`).catch(() => undefined);
          return res?.status === 200 ? 'ready' : undefined;
        },
        60_000,
        100,
      );
      if (outcome === 'exited') throw new Error(`${name} exited with ${proc.exitCode}`);
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`${(err as Error).message}:\n${instance.logs()}`, { cause: err });
    }
    return instance;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A running process of an old build: enough of AppProcess (which only starts today's bundles) for an upgrade. */
export class OldProcess {
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const keep = (chunk: Buffer) => this.output.push(chunk.toString());
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  logs(): string {
    return this.output.join('').slice(-20_000);
  }

  /** SIGTERM (a deploy's graceful stop), then SIGKILL after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    if (!this.alive) return;
    this.proc.kill(signal);
    const done = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}
