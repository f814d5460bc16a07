/** Load-generator building blocks: raw protocol clients, a server under test, statistics. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const BIN = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Frame = { type: string; id?: string; result?: unknown; error?: { code: string }; message?: { clientId: string; text: string; sender: string } };

/** A thin protocol client without the SDK's bookkeeping, so the generator stays cheap. */
export class RawClient {
  private nextId = 1;
  private readonly pending = new Map<string, (f: Frame) => void>();
  onPush: (f: Frame) => void = () => {};
  /**
   * Lets a scenario take frames as text, before any JSON.parse: the
   * throughput scenario reads the few fields it needs with indexOf, so that
   * the generator spends its two cores' share on sending, not on parsing.
   * Returns true when it took the frame.
   */
  onText: ((s: string) => boolean) | undefined;
  token = '';

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const text = d.toString();
      if (this.onText?.(text)) return;
      const f = JSON.parse(text) as Frame;
      if ((f.type === 'result' || f.type === 'error') && f.id) {
        const p = this.pending.get(f.id);
        if (p) {
          this.pending.delete(f.id);
          p(f);
        }
      } else {
        this.onPush(f);
      }
    });
    ws.on('error', () => {});
  }

  static open(url: string, localAddress?: string): Promise<RawClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('error', reject);
    });
  }

  request(type: string, params: Record<string, unknown> = {}): Promise<Frame> {
    const id = String(this.nextId++);
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ type, id, ...params }));
    });
  }

  async login(username: string): Promise<this> {
    const r = await this.request('login', { username });
    if (r.type !== 'result') throw new Error(`login failed: ${JSON.stringify(r.error)}`);
    this.token = (r.result as { token: string }).token;
    return this;
  }

  /** Sends an already encoded frame; its reply goes to `onText`. */
  sendText(frame: string): void {
    this.ws.send(frame);
  }

  /** Fire-and-forget send; `onAck` gets the reply. */
  send(to: string, text: string, clientId: string, onAck: (f: Frame) => void): void {
    const id = String(this.nextId++);
    this.pending.set(id, onAck);
    this.ws.send(JSON.stringify({ type: 'send', id, clientId, to, text }));
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Opens clients `count` at a time, so the server's accept queue is not flooded. */
export async function openMany<T>(count: number, parallel: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++;
      out[i] = await open(i);
    }
  }));
  return out;
}

export interface ServerUnderTest {
  url: string;
  pid: number;
  rssBytes(): number;
  stop(): Promise<void>;
}

export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Starts `parley serve` on a fresh SQLite file (or the given env) and waits until it listens. */
export async function startServer(env: Record<string, string>): Promise<ServerUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
      SEND_RATE: '1000000', SEND_BURST: '1000000', MAX_CONNECTIONS_PER_USER: '1000', MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      MEDIA_DIR: join(dir, 'media'), UPLOAD_RATE: '1000000', UPLOAD_BURST: '1000000', ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+),"ws"/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stdout!.resume();
  return childServer(child, port, () => rmSync(dir, { recursive: true, force: true }));
}

/** A server in a child process, listening on `port` of loopback; `stop` ends it and waits for its exit. */
export function childServer(child: ChildProcess, port: number, cleanup: () => void = () => {}): ServerUnderTest {
  return {
    url: `ws://127.0.0.1:${port}/v1/ws`,
    pid: child.pid!,
    rssBytes: () => rssOf(child.pid!),
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      cleanup();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

export const ms = (x: number) => Math.round(x * 100) / 100;
