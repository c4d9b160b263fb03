// One Raspberry Pi of the field test: a namespace host running `bin/flowrouter` with a shipped mesh config, driven
// only the way the README tells a user (the CLI and the HTTP API on that host).
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Host, Lab } from './lab.ts';

export const ROOT = join(import.meta.dirname, '../..');
const FLOWROUTER = join(ROOT, 'bin/flowrouter');
const NODE = join(ROOT, 'node_modules/.bin/node');
const START_TIMEOUT_MS = 30_000;

export interface Started {
  peerId: string;
  /** The multiaddr on the LAN (the namespace's address), as the start output prints it. */
  address: string;
}

export interface HttpAnswer {
  status: number;
  json: unknown;
  /** The body when it is not JSON (an SSE stream), when small. */
  text: string | null;
  /** The x-flowrouter-* headers. */
  headers: Record<string, string>;
  /** From sending the request to the end of the answer, measured inside the Pi. */
  ms: number;
  digest: string | null;
}

export class Pi {
  readonly host: Host;
  readonly dataDir: string;
  /** `pi-bootstrap.yaml` or `pi-peer.yaml`, from mesh-configs/. */
  readonly config: string;
  readonly #lab: Lab;
  readonly #logFile: string;
  readonly #env: NodeJS.ProcessEnv;
  #proc: ChildProcess | null = null;
  /** The node's peer id, once it has started. */
  peerId = '';
  #model: ChildProcess | null = null;
  #log: WriteStream | null = null;
  #exited: Promise<number> | null = null;

  constructor(lab: Lab, host: Host, work: string, config: string, adminKey: string) {
    this.#lab = lab;
    this.host = host;
    this.config = config;
    // Each Pi has its own disk: its data directory stands in for its /var/lib/flowrouter.
    this.dataDir = join(work, host.name, 'data');
    this.#logFile = join(work, host.name, 'node.log');
    mkdirSync(this.dataDir, { recursive: true });
    this.#env = { FLOWROUTER_DATA_DIR: this.dataDir, FLOWROUTER_ADMIN_KEY: adminKey, FLOWROUTER_CONFIG: '', FLOWROUTER_BOOTSTRAP: '' };
  }

  get name(): string {
    return this.host.name;
  }

  /** `flowrouter <args> --config mesh-configs/<config>` on this Pi. */
  async cli(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.#lab.exec(this.host, [FLOWROUTER, ...args, '--config', join(ROOT, 'mesh-configs', this.config)], { cwd, env: this.#env });
  }

  /** Like `cli`, failing with the command's output when it does not exit 0. */
  async ok(args: string[], cwd = ROOT): Promise<string> {
    const r = await this.cli(args, cwd);
    if (r.code !== 0) throw new Error(`${this.name}: flowrouter ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** `flowrouter start`, as the walkthrough runs it; resolves once the mesh listens on the LAN address. */
  async start(extra: string[] = []): Promise<Started> {
    if (this.#proc) throw new Error(`${this.name} is already running`);
    this.#log = createWriteStream(this.#logFile, { flags: 'a' });
    const proc = this.#lab.spawn(this.host, [FLOWROUTER, 'start', '--config', join(ROOT, 'mesh-configs', this.config), ...extra], {
      cwd: ROOT,
      env: this.#env,
    });
    this.#proc = proc;
    this.#exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 143))));
    proc.stderr!.pipe(this.#log, { end: false });
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${START_TIMEOUT_MS} ms: ${out}`)), START_TIMEOUT_MS);
      proc.stdout!.on('data', (d: Buffer) => {
        this.#log?.write(d);
        out += d.toString();
        const m = new RegExp(`mesh listening on (/ip4/${this.host.address.replaceAll('.', '\\.')}/tcp/\\d+/p2p/(\\w+))`).exec(out);
        if (m) {
          clearTimeout(timer);
          this.peerId = m[2];
          resolve({ address: m[1], peerId: m[2] });
        }
      });
      void this.#exited!.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${code} while starting: ${this.log().slice(-2000)}`));
      });
    });
  }

  /** Stops the node with `signal`; resolves with the exit code and how long the process took to end after it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number; ms: number }> {
    const proc = this.#proc;
    if (!proc || !this.#exited) throw new Error(`${this.name} is not running`);
    const started = performance.now();
    proc.kill(signal);
    const code = await this.#exited;
    const ms = performance.now() - started;
    this.#proc = null;
    this.#log?.end();
    return { code, ms };
  }

  /** Starts this Pi's model server (a fake) where its shipped config's model target points; `chatStatus` 503 plays one still loading. */
  async startModel(opts: { chatStatus?: number } = {}): Promise<void> {
    if (this.#model) await this.stopModel();
    const url = /url: http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(readFileSync(join(ROOT, 'mesh-configs', this.config), 'utf8'));
    if (!url) throw new Error(`mesh-configs/${this.config} has no local model url`);
    const args = [NODE, '--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'fake-model.ts'), '--port', url[1], '--name', this.name];
    if (opts.chatStatus) args.push('--chat-status', String(opts.chatStatus));
    const proc = this.#lab.spawn(this.host, args, { cwd: ROOT });
    this.#model = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}'s model server did not start`)), START_TIMEOUT_MS);
      proc.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name}'s model server exited with ${code}`));
      });
    });
  }

  async stopModel(): Promise<void> {
    const proc = this.#model;
    if (!proc) return;
    this.#model = null;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }

  get running(): boolean {
    return this.#proc !== null;
  }

  /** Everything the node wrote so far (its JSON log lines and start-up messages). */
  log(): string {
    try {
      return readFileSync(this.#logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** One HTTP request to this Pi's node, from inside the Pi (its API is not reachable from anywhere else). */
  async http(method: string, path: string, opts: { bodyFile?: string; key?: string; digest?: string } = {}): Promise<HttpAnswer> {
    const args = [NODE, '--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'http-probe.ts'), method, path];
    if (opts.bodyFile) args.push('--body-file', opts.bodyFile);
    args.push('--key', opts.key ?? String(this.#env.FLOWROUTER_ADMIN_KEY));
    if (opts.digest) args.push('--digest', opts.digest);
    const r = await this.#lab.exec(this.host, args, { cwd: ROOT });
    if (r.code !== 0) throw new Error(`${this.name}: ${method} ${path} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as HttpAnswer;
  }
}
