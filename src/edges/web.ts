/**
 * The web app (web/, built by Vite into dist/web) served at `/`. Hashed files
 * under /assets/ are cached for good; index.html is revalidated each time so a
 * new build is picked up on reload. Paths that look like pages (no file
 * extension) get index.html, so a reload of any app URL works; the API paths
 * keep their JSON 404.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** dist/web, next to dist/src where this module is compiled to. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const API = /^\/(v\d+|healthz|readyz|metrics|openapi\.json)(\/|$)/;

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Parley</title>
<p>The Parley web app is not built. Run <code>npm run build</code> (or <code>npm start</code>, which builds first) and reload.</p>
<p>The API is up: see <a href="/openapi.json">/openapi.json</a>.</p>`;

export function registerWebApp(app: FastifyInstance, dir = WEB_DIR): void {
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }
  void app.register(fastifyStatic, { root: dir, serve: false });
  const page = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  app.get('/', { schema: { hide: true } }, async (_req, reply) => page(reply));
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (API.test(path)) return reply.callNotFound();
    const last = path.slice(path.lastIndexOf('/') + 1);
    if (!last.includes('.')) return page(reply);
    let rel: string;
    try {
      rel = decodeURIComponent(path.slice(1));
    } catch {
      return reply.callNotFound();
    }
    if (rel.split('/').includes('..')) return reply.callNotFound();
    if (rel.startsWith('assets/')) return reply.sendFile(rel, { maxAge: '365d', immutable: true });
    return reply.sendFile(rel, { maxAge: '1h' });
  });
}
