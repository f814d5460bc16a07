/** The server serves the built web app at / without shadowing the API (no browser needed). */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fastify } from 'fastify';
import { registerWebApp, WEB_DIR } from '../../src/edges/web.js';
import { startServer } from '../helpers.js';

test('/ is the app, assets are cached for good, API paths keep their JSON answers', async () => {
  const srv = await startServer();
  try {
    const home = await fetch(`${srv.http}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(home.headers.get('cache-control'), 'no-cache');
    const html = await home.text();
    assert.match(html, /<title>Parley<\/title>/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'index.html loads a hashed bundle');
    const js = await fetch(`${srv.http}${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.ok(readdirSync(join(WEB_DIR, 'assets')).length > 0);

    // A reload of an app page gets the app; a missing file and unknown API paths get 404s.
    const page = await fetch(`${srv.http}/some/app/page`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
    assert.equal((await fetch(`${srv.http}/assets/nope-123.js`)).status, 404);
    const api = await fetch(`${srv.http}/v1/nothing`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'not_found');
    assert.equal((await fetch(`${srv.http}/healthz`)).status, 200);
    assert.equal((await fetch(`${srv.http}/readyz`)).status, 200);
    assert.match(await (await fetch(`${srv.http}/metrics`)).text(), /parley_connections/);
    assert.equal(((await (await fetch(`${srv.http}/openapi.json`)).json()) as { openapi: string }).openapi, '3.1.0');
    assert.equal((await fetch(`${srv.http}/..%2f..%2fpackage.json`)).status, 404);
  } finally {
    await srv.close();
  }
});

test('without a build, / says how to make one', async () => {
  const app = fastify();
  registerWebApp(app, '/nonexistent/parley-web');
  const r = await app.inject({ method: 'GET', url: '/' });
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /npm run build/);
  await app.close();
});
