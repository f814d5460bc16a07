/**
 * The floor: a WebSocket relay that speaks only as much of the protocol as
 * the throughput scenario uses (login; send, answered with an ack and pushed
 * to the recipient) and does nothing else: no storage, no validation, no
 * sync positions. `parley bench floor` runs the throughput scenario against
 * it, so a figure for Parley can be read against what Node, ws and this
 * machine's loopback give with no chat server at all.
 *
 * Run as its own process: `node dist/bench/relay.js`; it prints its port.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { childServer, type ServerUnderTest } from './load.js';

function serveRelay(): void {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/ws', perMessageDeflate: false, clientTracking: false });
  const users = new Map<string, WebSocket>();
  let seq = 0;
  wss.on('connection', (ws) => {
    let me = '';
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; id: string; username?: string; to?: string; clientId?: string; text?: string };
      if (f.type === 'login' && f.username) {
        me = f.username;
        users.set(me, ws);
        ws.send(JSON.stringify({ type: 'result', id: f.id, result: { token: 'relay', deviceId: '1' } }));
      } else if (f.type === 'send' && f.to) {
        seq++;
        const message = { id: String(seq), conversationId: '1', seq, sender: me, clientId: f.clientId, kind: 'text', text: f.text, sentAt: Date.now() };
        users.get(f.to)?.send(JSON.stringify({ type: 'message', pos: seq, token: `p1.${seq}`, message }));
        ws.send(JSON.stringify({ type: 'result', id: f.id, result: { message, duplicate: false, pos: seq, token: `p1.${seq}` } }));
      }
    });
    ws.on('close', () => { if (users.get(me) === ws) users.delete(me); });
  });
  wss.on('listening', () => process.stdout.write(`${JSON.stringify({ port: (wss.address() as { port: number }).port })}\n`));
}

/** Starts the relay in a child process. */
export async function startRelay(): Promise<ServerUnderTest> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return childServer(child, port);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serveRelay();
