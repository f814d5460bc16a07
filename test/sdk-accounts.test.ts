/** The SDK with password accounts: register, resume, device list, and what a revoked device sees. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MemoryStorage, ParleyError } from '../sdk/src/index.js';
import { sleep, startServer, type TestServer } from './helpers.js';
import { sdkClient } from './sdk-helpers.js';

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

test('register, chat, resume from storage without the password, revoke from another device: loggedOut, nothing retried', async () => {
  const srv = await startServer({ AUTH_MODE: 'password' });
  servers.push(srv);
  const storage = new MemoryStorage();
  const phone = sdkClient(srv.url, 'nina', { auth: { username: 'nina', password: 'ninas password', register: true, deviceName: 'phone' }, storage });
  await phone.client.start();
  assert.equal(phone.client.user?.username, 'nina');
  phone.client.close();
  assert.ok(!JSON.stringify([...Array(3)].map((_, i) => storage.get(['session', 'sync', 'outbox'][i]!))).includes('ninas password'), 'the password is not stored');

  // A restart of the app: the stored token resumes, no password needed.
  const again = sdkClient(srv.url, 'nina', { auth: { username: 'nina' }, storage });
  await again.client.start();
  const otto = sdkClient(srv.url, 'otto', { auth: { username: 'otto', password: 'ottos password', register: true } });
  await otto.client.start();
  await otto.client.send({ to: 'nina' }, 'hi nina');
  for (let i = 0; i < 100 && again.received.length === 0; i++) await sleep(20);
  assert.equal(again.received[0]?.text, 'hi nina');

  // The laptop logs in with the password and revokes the phone.
  const laptop = sdkClient(srv.url, 'nina', { auth: { username: 'nina', password: 'ninas password', deviceName: 'laptop' } });
  await laptop.client.start();
  const devices = await laptop.client.devices();
  assert.deepEqual(devices.map((d) => [d.name, d.current]).sort(), [['laptop', true], ['phone', false]]);
  const loggedOut = new Promise<ParleyError>((resolve) => again.client.on('loggedOut', resolve));
  await laptop.client.revokeDevice(devices.find((d) => !d.current)!.id);
  const why = await loggedOut;
  assert.equal(why.code, 'revoked');
  assert.equal(again.client.state, 'loggedOut');
  assert.equal(storage.get('session'), undefined, 'the dead token is forgotten');
  await sleep(300);
  assert.equal(again.client.state, 'loggedOut', 'it does not reconnect');

  // Wrong credentials stop the client instead of retrying forever.
  const wrong = sdkClient(srv.url, 'nina', { auth: { username: 'nina', password: 'not her password' } });
  await assert.rejects(wrong.client.start(), (e: ParleyError) => e.code === 'unauthorized');
  assert.equal(wrong.client.state, 'loggedOut');

  await laptop.client.logout();
  assert.equal(laptop.client.state, 'loggedOut');
  otto.client.close();
});
