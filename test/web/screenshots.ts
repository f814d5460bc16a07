/**
 * Writes docs/screenshots/{home,conversation}-{desktop,phone}.png from a real
 * session: a server on a loopback port, a few people chatting through the
 * SDK, and alice in Chromium. Run with `npm run screenshots` (which passes --write).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ParleyClient, type WebSocketConstructor } from '../../sdk/src/index.js';
import { ROOT, sleep, startServer } from '../helpers.js';
import { testPng } from './png.js';
import { bubbles, DESKTOP, hasChromium, launch, listItem, logIn, person, PHONE, type Person } from './browser.js';

// The test runner runs every script under test/: only write when asked to.
if (!process.argv.includes('--write')) process.exit(0);
if (!hasChromium) process.exit(1);
const out = join(ROOT, 'docs/screenshots');
mkdirSync(out, { recursive: true });

const srv = await startServer({ TYPING_TTL_MS: '60000' });
const people = new Map<string, ParleyClient>();
const as = async (name: string) => {
  let c = people.get(name);
  if (!c) {
    c = new ParleyClient({ url: srv.url, auth: { username: name }, WebSocket: WebSocket as unknown as WebSocketConstructor });
    people.set(name, c);
    await c.start();
  }
  return c;
};
const browser = await launch();

async function scene(viewport: typeof DESKTOP): Promise<Person> {
  const alice = await person(browser, srv.http, viewport);
  await logIn(alice, 'alice');
  return alice;
}

try {
  // alice exists before the others write to her.
  const first = await scene(DESKTOP);
  const bob = await as('bob');
  const carol = await as('carol');
  const dave = await as('dave');
  const erin = await as('erin');
  await (await as('frank')).send({ to: 'alice' }, 'Are the slides for Thursday ready?');
  await sleep(30);
  const trip = await carol.createGroup('Weekend trip', ['alice', 'bob', 'dave']);
  await carol.send({ conversationId: trip.id }, 'Campsite is booked for Saturday!');
  const view = await carol.uploadPicture(testPng(800, 600));
  await carol.sendPicture({ conversationId: trip.id }, view.id, 'The view from the campsite');
  await dave.send({ conversationId: trip.id }, 'I can bring the tent and the stove.');
  await sleep(30);
  await erin.send({ to: 'alice' }, 'Thanks for yesterday, that was fun 😊');
  await sleep(30);
  await dave.send({ to: 'alice' }, 'Running 10 minutes late');
  await dave.send({ to: 'alice' }, 'Order me a coffee?');
  await sleep(30);
  const b1 = await bob.send({ to: 'alice' }, 'Hey Alice! Did the release go out?');
  await sleep(200);

  // alice answers bob in the app; bob reads and writes back, then starts typing.
  await first.page.reload();
  await listItem(first, 'bob').getByRole('link').click();
  await bubbles(first, 'Hey Alice! Did the release go out?').waitFor();
  const box = first.page.getByRole('textbox', { name: 'Message' });
  for (const text of ['Yes, this morning. All green so far.', 'Pictures and password accounts are next.']) {
    await box.fill(text);
    await box.press('Enter');
    await bubbles(first, text).locator('.mark', { hasText: /Sent|Delivered|Seen/ }).waitFor();
  }
  await bob.markRead(b1.conversationId);
  await bob.send({ conversationId: b1.conversationId }, 'Great work. Lunch to celebrate?');
  await bubbles(first, 'Great work. Lunch to celebrate?').waitFor();
  await sleep(300);
  await bob.typing(b1.conversationId);
  await first.page.getByTestId('conversation-status').filter({ hasText: 'typing' }).waitFor();
  await first.page.mouse.move(0, 0);
  await first.page.screenshot({ path: join(out, 'conversation-desktop.png') });

  await first.page.goto('/#/');
  await first.page.getByText('Pick a conversation, or start a new one.').waitFor();
  await sleep(300);
  await first.page.screenshot({ path: join(out, 'home-desktop.png') });
  await first.context.close();

  const phone = await scene(PHONE);
  await listItem(phone, 'Weekend trip').waitFor();
  await sleep(500);
  await phone.page.screenshot({ path: join(out, 'home-phone.png') });
  await listItem(phone, 'Weekend trip').getByRole('link').click();
  await bubbles(phone, 'I can bring the tent and the stove.').waitFor();
  await phone.page.getByRole('img', { name: 'The view from the campsite' }).evaluate((el) => (el as unknown as { decode(): Promise<void> }).decode());
  await phone.page.getByRole('textbox', { name: 'Message' }).fill('I will bring snacks');
  await sleep(300);
  await phone.page.screenshot({ path: join(out, 'conversation-phone.png') });
  await phone.context.close();
  console.log(`screenshots written to ${out}`);
} finally {
  for (const c of people.values()) c.close();
  await browser.close();
  await srv.close();
}
