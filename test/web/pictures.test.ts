/**
 * Picture messages in the web app: alice picks (or pastes) a picture, sees a
 * preview, sends it with a caption; bob sees a thumbnail laid out at its final
 * size with the placeholder behind it, and the full size on click.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bubbles, done, eventually, hasChromium, listItem, logIn, person, say, startChat, webSuite } from './browser.js';
import { testPng } from './png.js';

const run = hasChromium;

const web = webSuite();

test('a picture sent by alice shows as a thumbnail for bob, full size on click', { skip: !run, timeout: 90_000 }, async () => {
  const alice = await person(web.browser, web.srv.http);
  const bob = await person(web.browser, web.srv.http);
  await logIn(bob, 'bob');
  await logIn(alice, 'alice');
  await startChat(alice, 'bob');
  await say(alice, 'Look at this');

  // Pick a file: a preview, a caption, Enter sends it.
  await alice.page.locator('input[type=file]').setInputFiles({ name: 'lake.png', mimeType: 'image/png', buffer: testPng(640, 480) });
  const preview = alice.page.getByRole('group', { name: 'Picture to send' });
  await preview.getByRole('img', { name: 'Preview of the picture to send' }).waitFor();
  const box = alice.page.getByRole('textbox', { name: 'Message' });
  await box.fill('Sunset at the lake');
  // The upload is quick on loopback: record whether its progress bar was ever on screen.
  await alice.page.evaluate(`(() => {
    window.sawProgress = false;
    new MutationObserver(() => { if (document.querySelector('progress[aria-label="Upload progress"]')) window.sawProgress = true; })
      .observe(document.body, { subtree: true, childList: true });
  })()`);
  await box.press('Enter');
  await eventually(() => preview.count(), (n) => n === 0, 'the preview goes once it is sent');
  const mine = alice.page.locator('.timeline li.msg.mine').filter({ has: alice.page.locator('.picture') });
  await mine.locator('.mark', { hasText: /Sent|Delivered|Seen/ }).waitFor();
  assert.equal(await alice.page.evaluate('window.sawProgress'), true, 'the upload showed its progress');

  // bob: the home screen says a photo came; the thumbnail box has the picture's shape before and after it loads.
  await listItem(bob, 'alice').locator('.preview', { hasText: 'Photo: Sunset at the lake' }).waitFor();
  await listItem(bob, 'alice').getByRole('link').click();
  const thumb = bob.page.getByRole('button', { name: 'Open picture: Sunset at the lake' });
  await thumb.waitFor();
  const size = await thumb.boundingBox();
  assert.ok(size && Math.abs(size.width / size.height - 640 / 480) < 0.03, `thumbnail box keeps the 4:3 shape (${JSON.stringify(size)})`);
  assert.match(await thumb.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).backgroundImage), /^url\("data:image\//, 'the placeholder is behind the thumbnail');
  const img = thumb.getByRole('img', { name: 'Sunset at the lake' });
  await eventually(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), (w) => w > 0, 'the thumbnail loads');
  await bob.page.locator('p.caption', { hasText: 'Sunset at the lake' }).waitFor();

  // Full size on click; Escape closes it.
  await thumb.click();
  const full = bob.page.getByRole('dialog', { name: 'Picture' }).getByRole('img', { name: 'Sunset at the lake' });
  await eventually(() => full.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), (w) => w === 640, 'the full-size picture loads');
  await bob.page.keyboard.press('Escape');
  await eventually(() => bob.page.getByRole('dialog', { name: 'Picture' }).count(), (n) => n === 0, 'Escape closes the picture');

  // Pasting an image into the message box picks it too; Escape drops it.
  await box.focus();
  await alice.page.evaluate(`(() => {
    const bytes = Uint8Array.from(atob('${testPng(32, 24).toString('base64')}'), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
    document.getElementById('composer-input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  })()`);
  await preview.getByRole('img', { name: 'Preview of the picture to send' }).waitFor();
  await box.press('Escape');
  await eventually(() => preview.count(), (n) => n === 0, 'Escape drops the picked picture');

  await done(alice, bob);
});
