/**
 * `parley chat`: a terminal client built only on the SDK. Type a line to send
 * it to the open conversation; /help lists the commands.
 */
import { createInterface, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ParleyClient, type ConversationView, type Message, type WebSocketConstructor } from '../sdk/src/index.js';
import { FileStorage } from '../sdk/src/node.js';

const HELP = `Commands:
  /open <user>     open the conversation with a user (created when you first write)
  /list            your conversations, most recent first
  /history [n]     load n older messages of the open conversation (default 20)
  /who             who you are and the connection state
  /quit            leave (unsent messages stay in the state file, if any)
Anything else is sent to the open conversation.`;

const time = (ms: number) => new Date(ms).toTimeString().slice(0, 5);
/** A message's text as the terminal shows it: a picture as its size and caption. */
const body = (m: Message) => (m.kind === 'picture' && m.picture ? `[picture ${m.picture.width}x${m.picture.height}]${m.text ? ` ${m.text}` : ''}` : m.text);

export async function runChat(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      user: { type: 'string', short: 'u' },
      url: { type: 'string', default: process.env.PARLEY_URL ?? 'ws://127.0.0.1:8080/v1/ws' },
      state: { type: 'string' },
      register: { type: 'boolean', default: false },
    },
  });
  if (!values.user) {
    process.stderr.write('usage: parley chat --user NAME [--url ws://host:port/v1/ws] [--state FILE] [--register]\n'
      + '  the password, where one is needed, comes from PARLEY_PASSWORD (never a flag: flags show in ps)\n');
    process.exitCode = 2;
    return;
  }
  const client = new ParleyClient({
    url: values.url!,
    auth: { username: values.user, password: process.env.PARLEY_PASSWORD || undefined, register: values.register, deviceName: 'terminal' },
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    ...(values.state ? { storage: new FileStorage(values.state) } : {}),
  });
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
  const ui = new ChatScreen(client, rl);
  ui.start();
  await new Promise<void>((resolve) => rl.on('close', resolve));
  client.close();
}

class ChatScreen {
  private open: { to: string; conversationId?: string } | undefined;

  constructor(private readonly client: ParleyClient, private readonly rl: Interface) {}

  start(): void {
    const c = this.client;
    c.on('state', (s) => this.print(`[${s}]`));
    c.on('login', (r) => this.print(`logged in as ${r.user.username} (device ${r.deviceId}). /help for commands.`));
    c.on('message', (m, conv) => this.onMessage(m, conv));
    c.on('sendFailed', (_id, err) => this.print(`! not sent: ${err.message}`));
    c.on('loggedOut', (err) => {
      this.print(`! logged out: ${err.message}`);
      this.rl.close();
    });
    this.rl.on('line', (line) => void this.onLine(line.trim()));
    void c.start();
    this.rl.prompt();
  }

  /** Prints above the prompt without disturbing what the user is typing. */
  private print(line: string): void {
    process.stdout.write('\r\x1b[K' + line + '\n');
    this.rl.prompt(true);
  }

  private me(): string {
    return this.client.user?.username ?? '';
  }

  private onMessage(m: Message, conv: ConversationView): void {
    if (this.open && !this.open.conversationId && conv.title.toLowerCase() === this.open.to.toLowerCase()) {
      this.open.conversationId = conv.id;
    }
    const here = this.open?.conversationId === m.conversationId;
    if (m.sender === this.me() && here) return; // shown when sent
    if (here) void this.client.markRead(m.conversationId, m.seq).catch(() => undefined);
    const where = here || !this.open ? '' : ` (chat with ${conv.title}; /open ${conv.title} to reply)`;
    this.print(`[${time(m.sentAt)}] ${m.sender}${where}: ${body(m)}`);
  }

  private async onLine(line: string): Promise<void> {
    if (line === '') return this.rl.prompt();
    if (line.startsWith('/')) return this.command(line);
    if (!this.open) return this.print('open a conversation first: /open <user>');
    const target = this.open.conversationId ? { conversationId: this.open.conversationId } : { to: this.open.to };
    const shown = `[${time(Date.now())}] ${this.me()}: ${line}`;
    this.print(this.client.state === 'online' ? shown : `${shown}  (queued, offline)`);
    try {
      const m = await this.client.send(target, line);
      if ('to' in target && this.open?.to === target.to) this.open.conversationId ??= m.conversationId;
    } catch {
      /* reported through sendFailed */
    }
  }

  private async command(line: string): Promise<void> {
    const [cmd, ...args] = line.split(/\s+/);
    try {
      switch (cmd) {
        case '/help':
          return this.print(HELP);
        case '/quit':
          return this.rl.close();
        case '/who':
          return this.print(`${this.me() || '(not logged in)'}, ${this.client.state}, ${this.client.outboxSize} unsent`);
        case '/list': {
          await this.client.loadConversations({ limit: 50 });
          const list = this.client.conversations();
          if (list.length === 0) return this.print('no conversations yet');
          for (const c of list) {
            const unread = c.unread > 0 ? ` (${c.unread} unread)` : '';
            this.print(`  ${c.title}${unread}: ${c.lastMessage ? `${c.lastMessage.sender}: ${body(c.lastMessage)}` : '(empty)'}`);
          }
          return;
        }
        case '/open': {
          const who = args[0];
          if (!who) return this.print('usage: /open <user>');
          await this.client.loadConversations({ limit: 200 });
          const conv = this.client.conversations().find((c) => (c.kind === 'direct' ? c.title.toLowerCase() : undefined) === who.toLowerCase());
          this.open = conv ? { to: who, conversationId: conv.id } : { to: who };
          this.print(`-- chat with ${who} --`);
          if (conv) {
            await this.history(10);
            if (conv.lastSeq > conv.readSeq) await this.client.markRead(conv.id);
          }
          return;
        }
        case '/history':
          return this.history(Number(args[0] ?? 20));
        default:
          return this.print(`unknown command ${cmd}; /help lists them`);
      }
    } catch (err) {
      this.print(`! ${(err as Error).message}`);
    }
  }

  private async history(n: number): Promise<void> {
    const id = this.open?.conversationId;
    if (!id) return this.print('no history yet');
    const before = this.client.conversation(id)?.messages.length ?? 0;
    await this.client.loadOlder(id, Number.isInteger(n) && n > 0 ? n : 20);
    const conv = this.client.conversation(id)!;
    const older = conv.messages.slice(0, conv.messages.length - before);
    if (older.length === 0) return this.print('(no older messages)');
    for (const m of older) this.print(`[${time(m.sentAt)}] ${m.sender}: ${body(m)}`);
  }
}
