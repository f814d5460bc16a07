/**
 * Two users on Node 20: alice sends, bob receives. Run against a server:
 *   npm run build && node dist/sdk/examples/quickstart.js ws://127.0.0.1:8080/v1/ws
 */
import WebSocket from 'ws';
import { ParleyClient, type WebSocketConstructor } from '../src/index.js';

const url = process.argv[2] ?? 'ws://127.0.0.1:8080/v1/ws';
const WS = WebSocket as unknown as WebSocketConstructor; // Node 20 has no global WebSocket

const alice = new ParleyClient({ url, auth: { username: 'alice' }, WebSocket: WS });
const bob = new ParleyClient({ url, auth: { username: 'bob' }, WebSocket: WS });

const arrived = new Promise<void>((resolve) => {
  bob.on('message', (message, conversation) => {
    console.log(`bob got "${message.text}" from ${message.sender} (conversation ${conversation.id}, seq ${message.seq})`);
    resolve();
  });
});

await Promise.all([alice.start(), bob.start()]);
const sent = await alice.send({ to: 'bob' }, 'hello from the SDK');
console.log(`alice's message is stored as seq ${sent.seq}`);
await arrived;
alice.close();
bob.close();
