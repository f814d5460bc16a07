/** The web app on a server in password mode: create an account, reload, log out, wrong and right passwords. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { done, eventually, hasChromium, person, webSuite } from './browser.js';

const web = webSuite({ AUTH_MODE: 'password' });

test('password mode: create an account, the session survives a reload, log out, wrong then right password', { skip: !hasChromium, timeout: 60_000 }, async () => {
  const p = await person(web.browser, web.srv.http);
  const { page } = p;
  const username = page.getByLabel('Username');
  const password = page.getByLabel('Password');
  await password.waitFor();
  await username.fill('pat');
  await password.fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('me').filter({ hasText: 'pat' }).waitFor();

  await page.reload();
  await page.getByTestId('me').filter({ hasText: 'pat' }).waitFor();
  assert.equal(await password.count(), 0, 'no password asked after a reload');

  await page.getByRole('button', { name: 'Log out' }).click();
  await password.waitFor();
  await page.reload();
  await password.waitFor(); // logged out for good, also after a reload

  await username.fill('pat');
  await password.fill('not my password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();

  // The name is taken: creating it again is refused with the server's reason.
  await password.fill('another password');
  await page.getByRole('button', { name: 'Create account' }).click();
  const taken = await eventually(() => page.getByRole('alert').innerText(), (t) => t !== 'Wrong username or password.', 'a new error', 10_000);
  assert.match(taken, /taken|exists|in use/i);

  await password.fill('correct horse battery');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('me').filter({ hasText: 'pat' }).waitFor();
  await done(p);
});
