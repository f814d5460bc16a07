/**
 * The web app in real Chromium: two people in two browser contexts chat
 * through a real server, and every assertion is about what they see.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startServer, type TestServer } from '../helpers.js';
import { bubbles, eventually, hasChromium, launch, listItem, logIn, person, say, startChat } from './browser.js';

let srv: TestServer;
let browser: Browser;

before(async () => {
  if (!hasChromium) return;
  srv = await startServer({ TYPING_TTL_MS: '3000' });
  browser = await launch();
});
after(async () => {
  if (!hasChromium) return;
  await browser.close();
  await srv.close();
});

test('alice and bob chat: live delivery, unread badge, sent / delivered / seen marks, typing, presence', { skip: !hasChromium, timeout: 90_000 }, async () => {
  const alice = await person(browser, srv.http);
  const bob = await person(browser, srv.http);
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
  assert.match(await item.locator('.preview').innerText(), /Hi Bob, lunch today\?/);
  assert.equal(await bob.page.getByLabel('Username').count(), 0, 'no login form after coming back');

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
  await eventually(() => alice.page.getByTestId('conversation-status').innerText(), (s) => !s.includes('typing'), 'typing ends with the message');
  assert.equal(await bubbles(alice, 'Sure, at noon').count(), 1);
  assert.equal(await bubbles(bob, 'Sure, at noon').count(), 1, 'bob sees his own message once');
  // Alice has the conversation open, so it is read at once: no badge for her, "Seen" for bob.
  await bubbles(bob, 'Sure, at noon').locator('.mark', { hasText: 'Seen' }).waitFor();
  assert.equal(await listItem(alice, 'bob').getByTestId('unread').count(), 0);

  // The home screen keeps the most recent conversation first.
  const carol = await person(browser, srv.http);
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

  for (const p of [alice, bob, carol]) await p.context.close();
});
