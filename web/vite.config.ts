// Builds the web app into dist/web, which the Parley server serves at `/`.
// `npx vite web` runs a dev server that proxies the API and the WebSocket to
// a Parley server on :8080 (`npm start` in another terminal).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
