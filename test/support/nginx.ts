import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tools/lib/app-process.js';
import { freePort } from '../../tools/lib/ports.js';
import { waitFor } from '../../tools/lib/wait.js';

/** One line of the access log (deploy/nginx's `parley` format). */
export interface AccessLogEntry {
  remoteAddr: string;
  method: string;
  /** As logged: a token in the query string reads `token=[redacted]`. */
  uri: string;
  status: number;
  /** The gateways (host:port) nginx sent the request to, in order: more than one after a retry. */
  upstreams: string[];
  upstreamStatuses: string[];
}

const ENTRY =
  /^(\S+) - \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \d+ "[^"]*" "[^"]*" upstream="([^"]*)" upstream_status="([^"]*)"$/;

/**
 * The project's own nginx configuration (deploy/nginx/nginx.conf), run by Debian's nginx on a loopback port in
 * front of gateways started by a test. Only what ties the file to Docker is rewritten: the upstream servers
 * (compose service names) become the test's gateways, the log and temporary paths a directory of the test's own.
 */
export class PrivateNginx {
  port = 0;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-nginx-'));
  private proc?: ChildProcess;

  /** Whether Debian's nginx is installed (npm test installs it with apt-get where it can). */
  static available(): boolean {
    return spawnSync('nginx', ['-v']).status === 0;
  }

  async start(gateways: string[]): Promise<this> {
    this.port = await freePort();
    for (const sub of ['tmp', 'logs']) mkdirSync(join(this.dir, sub), { recursive: true });
    const servers = gateways.map((url) => `        server ${new URL(url).host};`).join('\n');
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `    ${t}_temp_path ${this.dir}/tmp/${t};`)
      .join('\n');
    const conf = readFileSync(join(REPO_ROOT, 'deploy/nginx/nginx.conf'), 'utf8')
      .replace(/^worker_processes .*$/m, `worker_processes 1;\npid ${this.dir}/nginx.pid;`)
      .replace(/^error_log .*$/m, `error_log ${this.dir}/logs/error.log warn;`)
      .replace(/^\s*resolver .*$/m, '')
      .replace(
        /^(\s*)server gateway-\d+:\d+ resolve;\n(?:\s*server gateway-\d+:\d+ resolve;\n)*/gm,
        `${servers}\n`,
      )
      .replace(/access_log \/dev\/stdout parley;/, `access_log ${this.dir}/logs/access.log parley;\n${temp}`)
      .replace(/listen 80;/, `listen 127.0.0.1:${this.port};`);
    writeFileSync(join(this.dir, 'nginx.conf'), conf);
    this.proc = spawn('nginx', ['-p', this.dir, '-c', join(this.dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    this.proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(`nginx on :${this.port}${stderr ? ` (${stderr})` : ''}`, async () => {
      if (this.proc?.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return fetch(`${this.url}/nginx-health`).then(
        (r) => r.ok,
        () => false,
      );
    });
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  accessLog(): string {
    try {
      return readFileSync(join(this.dir, 'logs/access.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** The access log parsed (lines of another format are left out). */
  entries(): AccessLogEntry[] {
    return this.accessLog()
      .split('\n')
      .flatMap((line) => {
        const m = ENTRY.exec(line);
        if (!m) return [];
        return [
          {
            remoteAddr: m[1]!,
            method: m[2]!,
            uri: m[3]!,
            status: Number(m[4]),
            upstreams: m[5] && m[5] !== '-' ? m[5].split(', ') : [],
            upstreamStatuses: m[6] && m[6] !== '-' ? m[6].split(', ') : [],
          },
        ];
      });
  }

  /**
   * The gateway (host:port) that nginx sends a client at `localAddress` (one of 127.0.0.0/8) to for `path`: one real
   * request from that address, read back from the access log.
   */
  async upstreamFor(localAddress: string, path: string): Promise<string> {
    const marked = `${path}${path.includes('?') ? '&' : '?'}probe=${Math.random().toString(36).slice(2)}`;
    await new Promise<void>((resolve, reject) => {
      get({ host: '127.0.0.1', port: this.port, path: marked, localAddress }, (res) => {
        res.resume();
        res.once('end', resolve);
      }).once('error', reject);
    });
    const entry = await waitFor(`the access log line of ${marked}`, () =>
      this.entries().find((e) => e.uri === marked && e.remoteAddr === localAddress),
    );
    if (entry.upstreams.length !== 1) throw new Error(`${marked} went to ${entry.upstreams.join(', ')}`);
    return entry.upstreams[0]!;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGQUIT');
      // A graceful stop waits for every open connection (a WebSocket a failed test left open): then a fast one.
      const slow = setTimeout(() => proc.kill('SIGTERM'), 5000);
      await exited;
      clearTimeout(slow);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
