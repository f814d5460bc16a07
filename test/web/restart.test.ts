/**
 * The server restarts while alice is writing: the app shows that it is
 * reconnecting, keeps what she sends meanwhile, and delivers it exactly once
 * when the server is back (same port, same SQLite file).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sleep, spawnServer, tempDir } from '../helpers.js';
import { freePort } from '../sdk-helpers.js';
import { bubbles, eventually, hasChromium, launch, logIn, person, say, startChat, done } from './browser.js';

const tmp = tempDir('parley-web-restart-');
after(() => tmp.cleanup());

test('server restart while alice types and sends: "Reconnecting…", then the message arrives once', { skip: !hasChromium, timeout: 120_000 }, async () => {
  const port = await freePort();
  const env = { PORT: String(port), DATABASE_URL: `sqlite:${tmp.dir}/restart.db`, SQLITE_SYNCHRONOUS: 'normal', DRAIN_WINDOW_MS: '100', DRAIN_GRACE_MS: '500' };
  let server = await spawnServer(env);
  const browser = await launch();
  try {
    const base = `http://127.0.0.1:${port}`;
    const alice = await person(browser, base);
    const bob = await person(browser, base);
    await logIn(bob, 'bob');
    await logIn(alice, 'alice');
    await startChat(alice, 'bob');
    await say(alice, 'before the restart');
    await bob.page.locator('li.conversation[data-title="alice"]').getByRole('link').click();
    await bubbles(bob, 'before the restart').waitFor();

    const box = alice.page.getByRole('textbox', { name: 'Message' });
    await box.pressSequentially('written while the server', { delay: 10 });
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'the server drains and exits cleanly');

    const banner = alice.page.getByTestId('connection');
    await banner.filter({ hasText: /Reconnecting|Connection lost/ }).waitFor();
    await box.pressSequentially(' restarts', { delay: 10 });
    await box.press('Enter');
    const mine = bubbles(alice, 'written while the server restarts');
    await mine.filter({ hasText: 'Sending…' }).waitFor();
    await banner.filter({ hasText: '1 message will be sent when the connection is back' }).waitFor();
    await sleep(500); // a few reconnect attempts fail while the server is down

    server = await spawnServer(env);
    await eventually(() => banner.innerText(), (t) => t.trim() === '', 'the banner goes once the app is back', 20_000);
    await bubbles(bob, 'written while the server restarts').waitFor({ timeout: 20_000 });
    await mine.locator('.mark', { hasText: /Sent|Delivered|Seen/ }).waitFor();
    await sleep(1000); // nothing more arrives
    assert.equal(await bubbles(bob, 'written while the server restarts').count(), 1, 'bob gets it once');
    assert.equal(await mine.count(), 1, 'alice sees it once');
    assert.equal(await alice.page.locator('li.msg.pending').count(), 0, 'nothing left to send');
    assert.equal(await bubbles(bob, 'before the restart').count(), 1, 'the earlier message is not repeated');
    await done(alice, bob);
  } finally {
    await browser.close();
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
