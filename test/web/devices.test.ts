/**
 * The Account dialog on a server in password mode: one user on a laptop and a
 * phone; the laptop logs the phone out, then changes the password (wrong
 * current password first); only the new password logs in afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { done, eventually, hasChromium, type Person, person, PHONE, webSuite } from './browser.js';

const web = webSuite({ AUTH_MODE: 'password' });

async function passwordLogIn(p: Person, username: string, password: string, button: 'Log in' | 'Create account' = 'Log in'): Promise<void> {
  await p.page.getByLabel('Username').fill(username);
  await p.page.getByLabel('Password', { exact: true }).fill(password);
  await p.page.getByRole('button', { name: button, exact: true }).click();
}

const loggedIn = (p: Person, username: string) => p.page.getByTestId('me').filter({ hasText: username }).waitFor();

test('Account dialog: see your devices, log one out, change the password', { skip: !hasChromium, timeout: 90_000 }, async () => {
  const laptop = await person(web.browser, web.srv.http);
  const phone = await person(web.browser, web.srv.http, PHONE);
  await passwordLogIn(laptop, 'kim', 'first password 1', 'Create account');
  await loggedIn(laptop, 'kim');
  await passwordLogIn(phone, 'kim', 'first password 1');
  await loggedIn(phone, 'kim');

  // The phone opens its Account dialog too: it fits the small screen, and stays open while it is logged out.
  await phone.page.getByRole('button', { name: 'Account', exact: true }).click();
  const phoneDialog = phone.page.getByRole('dialog', { name: 'Account' });
  await eventually(() => phoneDialog.locator('li[data-device]').count(), (n) => n === 2, 'two devices on the phone');
  const box = await phoneDialog.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `the dialog fits the phone: ${JSON.stringify(box)}`);
  assert.equal(await phone.page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'), 0);

  // The laptop, with the keyboard: the Account button, then the dialog.
  const account = laptop.page.getByRole('button', { name: 'Account', exact: true });
  await account.press('Enter');
  const dialog = laptop.page.getByRole('dialog', { name: 'Account' });
  await dialog.waitFor();
  const devices = dialog.locator('li[data-device]');
  await eventually(() => devices.count(), (n) => n === 2, 'two devices');
  const mine = devices.filter({ hasText: 'This device' });
  assert.equal(await mine.count(), 1, 'one device is this one');
  assert.match(await mine.innerText(), /Chrome on Linux/);
  assert.match(await mine.innerText(), /last seen/);
  assert.equal(await mine.getByRole('button').count(), 0, 'no Log out button for this device');
  const other = devices.filter({ hasNotText: 'This device' });
  const logOutOther = other.getByRole('button', { name: /^Log out Chrome on Linux/ });
  await logOutOther.press('Enter');

  // The phone is logged out: back at the login form, with the reason.
  await phone.page.getByLabel('Password', { exact: true }).waitFor();
  await phone.page.getByRole('alert').filter({ hasText: 'This device was logged out.' }).waitFor();
  assert.equal(await phoneDialog.count(), 0, 'the phone\'s dialog went with its session');
  await eventually(() => devices.count(), (n) => n === 1, 'one device left on the laptop');
  assert.equal(await devices.filter({ hasText: 'This device' }).count(), 1);

  // A wrong current password: the server's reason.
  const current = dialog.getByLabel('Current password (if you have one)');
  const fresh = dialog.getByLabel('New password', { exact: true });
  await current.fill('not my password');
  await fresh.fill('second password 2');
  await fresh.press('Enter');
  const error = dialog.getByRole('alert');
  await error.waitFor();
  assert.match(await error.innerText(), /wrong/i);

  // Too short: said before asking the server.
  await current.fill('first password 1');
  await fresh.fill('short');
  await fresh.press('Enter');
  await error.filter({ hasText: 'at least 8 characters' }).waitFor();

  await fresh.fill('second password 2');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Password changed; your other devices were logged out.' }).waitFor();
  assert.equal(await error.count(), 0, 'the error is gone');
  assert.equal(await devices.count(), 1);

  // Escape closes the dialog and gives the focus back to the Account button.
  await laptop.page.keyboard.press('Escape');
  await eventually(() => dialog.count(), (n) => n === 0, 'Escape closes the Account dialog');
  await eventually(() => account.evaluate((el) => el === el.ownerDocument.activeElement), (v) => v === true, 'focus returns to the Account button');

  // A new browser: the old password no longer works, the new one does.
  const tablet = await person(web.browser, web.srv.http);
  await passwordLogIn(tablet, 'kim', 'first password 1');
  await tablet.page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
  await passwordLogIn(tablet, 'kim', 'second password 2');
  await loggedIn(tablet, 'kim');
  // The laptop was not logged out by its own password change.
  assert.equal(await laptop.page.getByTestId('me').filter({ hasText: 'kim' }).count(), 1);

  await done(laptop, phone, tablet);
});
