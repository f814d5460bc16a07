/** Two people chat through `parley chat` in real pseudo-terminals (tmux send-keys / capture-pane). */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, sleep, startServer, type TestServer } from './helpers.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) {
  if (process.env.CI === 'true') throw new Error('tmux is required for the terminal client test under CI (apt-get install tmux)');
  console.warn('\n*** SKIPPING the terminal client test: tmux is not installed ***\n');
}

const socket = `parley-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
let srv: TestServer;

before(async () => {
  if (!hasTmux) return;
  srv = await startServer();
});
after(async () => {
  if (!hasTmux) return;
  spawnSync('tmux', ['-L', socket, 'kill-server']);
  await srv.close();
});

function startChat(name: string) {
  const cmd = `${process.execPath} ${join(ROOT, 'bin/parley.js')} chat --user ${name} --url ${srv.url}`;
  tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', cmd);
}
const screen = (name: string) => tmux('capture-pane', '-p', '-t', name);
function type(name: string, text: string) {
  tmux('send-keys', '-t', name, '-l', text);
  tmux('send-keys', '-t', name, 'Enter');
}

async function waitFor(name: string, pattern: RegExp, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = screen(name);
    if (pattern.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`${name}'s screen never showed ${pattern}:\n${s}`);
    await sleep(100);
  }
}

test('two terminal users exchange messages', { skip: !hasTmux }, async () => {
  startChat('tessa');
  startChat('tomas');
  await waitFor('tessa', /logged in as tessa/);
  await waitFor('tomas', /\[online\]/);
  type('tessa', '/open tomas');
  await waitFor('tessa', /-- chat with tomas --/);
  type('tessa', 'hello from the terminal');
  await waitFor('tomas', /\] tessa: hello from the terminal/);
  type('tomas', '/open tessa');
  await waitFor('tomas', /-- chat with tessa --/);
  type('tomas', 'hi tessa, got it');
  await waitFor('tessa', /tomas: hi tessa, got it/);
  type('tomas', '/list');
  const list = await waitFor('tomas', /tessa: tomas: hi tessa, got it/);
  assert.match(list, /\/list/);
  type('tessa', '/history 5');
  await waitFor('tessa', /\(no older messages\)|hello from the terminal/);
  type('tessa', '/quit');
  await sleep(300);
  const sessions = spawnSync('tmux', ['-L', socket, 'list-sessions'], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(sessions, /^tessa:/m, '/quit ends the client');
});
