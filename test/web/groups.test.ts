/**
 * Groups in the web app, driven with the keyboard alone where a person could:
 * create a group, members and admin actions, a removed member's view; and the
 * phone-sized layout (one column: the list or the conversation).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bubbles, done, eventually, hasChromium, listItem, logIn, person, PHONE, say, startChat, webSuite } from './browser.js';

const web = webSuite();

test('a group made and run with the keyboard: members, admin actions, rename, removal', { skip: !hasChromium, timeout: 90_000 }, async () => {
  const [ann, ben, cat] = await Promise.all([person(web.browser, web.srv.http), person(web.browser, web.srv.http), person(web.browser, web.srv.http)]);
  await logIn(ben, 'ben');
  await logIn(cat, 'cat');
  await logIn(ann, 'ann');
  const k = ann.page.keyboard;

  await ann.page.getByRole('button', { name: 'New group' }).focus();
  await k.press('Enter');
  const dialog = ann.page.getByRole('dialog', { name: 'New group' });
  await dialog.waitFor();
  await k.type('Weekend trip'); // the name field has the focus
  await k.press('Tab');
  await k.type('ben, cat');
  await k.press('Enter');
  await ann.page.getByRole('heading', { name: 'Weekend trip', level: 2 }).waitFor();
  assert.equal(await dialog.count(), 0, 'the dialog closes');
  await ann.page.getByTestId('conversation-status').filter({ hasText: '3 members' }).waitFor();
  await ann.page.locator('li.msg.system', { hasText: /created/i }).waitFor();
  await say(ann, 'Who brings the tent?');

  // ben sees the group with its unread message and the sender's name on it.
  await listItem(ben, 'Weekend trip').getByTestId('unread').waitFor();
  await listItem(ben, 'Weekend trip').locator('.preview', { hasText: 'ann: Who brings the tent?' }).waitFor();
  await listItem(ben, 'Weekend trip').getByRole('link').click();
  await bubbles(ben, 'Who brings the tent?').locator('.sender', { hasText: 'ann' }).waitFor();

  // Members: ann is admin; Escape closes the dialog and gives the focus back.
  const info = ann.page.getByRole('button', { name: 'Group info and members' });
  // Focus and Enter in one step: ben's read receipt re-renders ann's header around this moment.
  await info.press('Enter');
  const members = ann.page.getByRole('dialog', { name: 'Weekend trip' });
  await members.waitFor();
  assert.deepEqual(await members.locator('li[data-member]').evaluateAll((els) => els.map((e) => e.getAttribute('data-member'))), ['ann', 'ben', 'cat']);
  await members.locator('li[data-member="ann"] .tag', { hasText: 'admin' }).waitFor();
  await k.press('Escape');
  await eventually(() => members.count(), (n) => n === 0, 'Escape closes the members dialog');
  await eventually(() => info.evaluate((el) => el === el.ownerDocument.activeElement), (v) => v === true, 'focus returns to the button');

  // Admin actions: rename, add, remove. Enter at once after Escape opens it again
  // (a late native 'close' event of the first dialog once closed the second).
  await k.press('Enter');
  await members.waitFor();
  await members.getByLabel('Group name').fill('Camping trip');
  await members.getByRole('button', { name: 'Rename' }).click();
  await ann.page.getByRole('dialog', { name: 'Camping trip' }).waitFor();
  const renamed = ann.page.getByRole('dialog', { name: 'Camping trip' });
  await renamed.getByRole('button', { name: 'Remove cat' }).click();
  await eventually(() => renamed.locator('li[data-member]').count(), (n) => n === 2, 'cat removed from the list');
  await k.press('Escape');

  await ben.page.getByRole('heading', { name: 'Camping trip', level: 2 }).waitFor();
  await ben.page.locator('li.msg.system', { hasText: /renamed/i }).waitFor();
  assert.equal(await ben.page.getByRole('button', { name: 'Group info and members' }).count(), 1);
  // ben is not an admin: no admin actions for him.
  await ben.page.getByRole('button', { name: 'Group info and members' }).click();
  const bensView = ben.page.getByRole('dialog', { name: 'Camping trip' });
  await bensView.waitFor();
  assert.equal(await bensView.getByRole('button', { name: /^Remove/ }).count(), 0);
  assert.equal(await bensView.getByLabel('Group name').count(), 0);
  await ben.page.keyboard.press('Escape');

  // cat was removed: she keeps the history, and cannot write any more.
  await listItem(cat, 'Camping trip').getByRole('link').click();
  await cat.page.getByText('You are no longer a member of this group.').waitFor();
  assert.equal(await cat.page.getByRole('textbox', { name: 'Message' }).count(), 0);
  await bubbles(cat, 'Who brings the tent?').waitFor();

  await done(ann, ben, cat);
});

test('phone-sized screen: one column, the list or the conversation, with a way back', { skip: !hasChromium, timeout: 60_000 }, async () => {
  const dan = await person(web.browser, web.srv.http, PHONE);
  const eve = await person(web.browser, web.srv.http, PHONE);
  await logIn(eve, 'eve');
  await logIn(dan, 'dan');
  await startChat(dan, 'eve');
  await say(dan, 'Hello from a phone');
  const sidebar = dan.page.locator('aside.sidebar');
  assert.equal(await sidebar.isVisible(), false, 'the list is hidden while a conversation is open');
  await dan.page.getByRole('link', { name: 'Back to conversations' }).click();
  await listItem(dan, 'eve').waitFor();
  assert.equal(await dan.page.locator('main.main').isVisible(), false, 'the conversation is hidden on the list');

  await listItem(eve, 'dan').getByTestId('unread').waitFor();
  await listItem(eve, 'dan').getByRole('link').click();
  await bubbles(eve, 'Hello from a phone').waitFor();
  // Nothing is wider than the screen.
  const overflow = await eve.page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  assert.equal(overflow, 0);
  await done(dan, eve);
});
