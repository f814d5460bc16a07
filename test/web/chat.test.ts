/**
 * The web app in real Chromium: two people in two browser contexts chat
 * through a real server, and every assertion is about what they see.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, startServer, type TestServer } from '../helpers.js';
import { bubbles, done, eventually, hasChromium, listItem, logIn, person, say, startChat, webSuite } from './browser.js';

const web = webSuite({ TYPING_TTL_MS: '3000', SEND_BURST: '1000' });

test('alice and bob chat: live delivery, unread badge, sent / delivered / seen marks, typing, presence', { skip: !hasChromium, timeout: 90_000 }, async () => {
  const alice = await person(web.browser, web.srv.http);
  const bob = await person(web.browser, web.srv.http);
  await logIn(bob, 'bob');
  await bob.page.goto('about:blank'); // bob leaves: his device is offline

  await logIn(alice, 'alice');
  await startChat(alice, 'bob');
  await say(alice, 'Hi Bob, lunch today?');
  const first = bubbles(alice, 'Hi Bob, lunch today?');
  await first.locator('.mark', { hasText: 'Sent' }).waitFor();
  assert.match(await alice.page.getByTestId('conversation-status').innerText(), /last seen|offline/, 'bob shows as away');

  // bob comes back: his session resumes without the login form, and the home screen shows the unread message.
  await bob.page.goto('/');
  const item = listItem(bob, 'alice');
  await item.getByTestId('unread').filter({ hasText: /^1$/ }).waitFor();
  await item.locator('.preview', { hasText: 'Hi Bob, lunch today?' }).waitFor();
  assert.equal(await bob.page.getByLabel('Username').count(), 0, 'no login form after coming back');
  await eventually(() => bob.page.title(), (t) => t === '(1) Parley', 'the unread count in the tab title');

  // His device got it: alice sees "Delivered", and bob online.
  await first.locator('.mark', { hasText: 'Delivered' }).waitFor();
  await alice.page.getByTestId('conversation-status').filter({ hasText: /^online$/ }).waitFor();

  // bob opens the conversation: he reads it, alice sees "Seen", his badge goes.
  await item.getByRole('link').click();
  await bubbles(bob, 'Hi Bob, lunch today?').waitFor();
  await first.locator('.mark', { hasText: 'Seen' }).waitFor();
  await eventually(() => item.getByTestId('unread').count(), (n) => n === 0, 'badge cleared');

  // bob types: alice sees it while he types, and his message arrives live.
  await bob.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Sure, at noon', { delay: 20 });
  await alice.page.getByTestId('conversation-status').filter({ hasText: 'typing…' }).waitFor();
  await listItem(alice, 'bob').locator('.preview', { hasText: 'typing…' }).waitFor();
  await bob.page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await bubbles(alice, 'Sure, at noon').waitFor();
  await eventually(() => alice.page.getByTestId('conversation-status').innerText(), (s) => !s.includes('typing'), 'typing ends with the message, before it would expire', 2000);
  assert.equal(await bubbles(alice, 'Sure, at noon').count(), 1);
  assert.equal(await bubbles(bob, 'Sure, at noon').count(), 1, 'bob sees his own message once');
  // Alice has the conversation open, so it is read at once: no badge for her, "Seen" for bob.
  await bubbles(bob, 'Sure, at noon').locator('.mark', { hasText: 'Seen' }).waitFor();
  assert.equal(await listItem(alice, 'bob').getByTestId('unread').count(), 0);

  // The home screen keeps the most recent conversation first.
  const carol = await person(web.browser, web.srv.http);
  await logIn(carol, 'carol');
  await startChat(carol, 'bob');
  await say(carol, 'Bob! Did you see the match?');
  await bob.page.getByRole('link', { name: 'Back to conversations' }).count();
  await listItem(bob, 'carol').getByTestId('unread').filter({ hasText: /^1$/ }).waitFor();
  const titles = await bob.page.locator('li.conversation').evaluateAll((els) => els.map((e) => e.getAttribute('data-title')));
  assert.deepEqual(titles, ['carol', 'alice'], 'most recently active first');

  // Reload keeps the session, the open conversation and its history.
  await alice.page.reload();
  await alice.page.getByRole('heading', { name: 'bob', level: 2 }).waitFor();
  await bubbles(alice, 'Hi Bob, lunch today?').waitFor();
  await bubbles(alice, 'Sure, at noon').waitFor();
  assert.equal(await bubbles(alice, 'Hi Bob, lunch today?').count(), 1);
  assert.equal(await alice.page.getByLabel('Username').count(), 0, 'still logged in after reload');

  await done(alice, bob, carol);
});

test('history loads backwards as you scroll up, each message once, keeping your place', { skip: !hasChromium, timeout: 90_000 }, async () => {
  const ida = await person(web.browser, web.srv.http);
  await logIn(ida, 'ida');
  const hal = await Client.login(web.srv.url, { username: 'hal' });
  for (let i = 1; i <= 150; i++) await hal.send('ida', `message number ${i}`);
  hal.close();

  const item = listItem(ida, 'hal');
  await item.getByTestId('unread').filter({ hasText: /^99\+$/ }).waitFor();
  // They all arrived live; after a reload the app knows only the home screen, and loads history as needed.
  await ida.page.reload();
  await item.getByTestId('unread').filter({ hasText: /^99\+$/ }).waitFor();
  await item.getByRole('link').click();
  await bubbles(ida, 'message number 150').waitFor();
  const seqs = () => ida.page.locator('.timeline li.msg').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
  assert.ok((await seqs()).length < 150, 'only the newest pages are loaded at first');
  assert.equal(await bubbles(ida, 'message number 1').count(), 0);

  const timeline = ida.page.getByRole('log', { name: 'Messages' });
  const before = (await seqs())[0]!;
  await timeline.evaluate((el) => { el.scrollTop = 0; });
  const more = await eventually(seqs, (s) => s[0]! < before, 'an older page after scrolling up');
  const top = await timeline.evaluate((el) => el.scrollTop);
  assert.ok(top > 0, `the reading position is kept when older messages come in (scrollTop ${top})`);
  assert.ok(more.length > 0);
  for (let i = 0; i < 10 && (await ida.page.getByText('Beginning of the conversation').count()) === 0; i++) {
    await timeline.evaluate((el) => { el.scrollTop = 0; });
    await new Promise((r) => setTimeout(r, 300));
  }
  await ida.page.getByText('Beginning of the conversation').waitFor();
  assert.equal(await ida.page.getByTestId('new-messages').count(), 1, 'the divider sits where the unread messages begin');
  assert.equal(await ida.page.locator('li[data-testid="new-messages"] + li.msg[data-seq="1"]').count(), 1, 'right before the first one');
  assert.deepEqual(await seqs(), Array.from({ length: 150 }, (_, i) => i + 1), 'every message once, in order');
  await done(ida);
});
