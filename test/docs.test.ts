/** The documentation covers the contract: every frame type and error code is in docs/protocol.md. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES } from '../src/errors.js';
import { ClientFrames, ServerFrames } from '../src/protocol/schemas.js';
import { ROOT } from './helpers.js';

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

test('docs/protocol.md names every frame type and every error code', () => {
  const doc = read('docs/protocol.md');
  for (const type of [...Object.keys(ClientFrames), ...Object.keys(ServerFrames)]) assert.ok(doc.includes(`\`${type}\``), `frame ${type}`);
  for (const code of Object.keys(ERROR_CODES)) assert.ok(doc.includes(`\`${code}\``), `error code ${code}`);
});

test('the README gives the two set-up commands, and CI runs the same test command', () => {
  const readme = read('README.md');
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm ci && npm test/);
  assert.match(read('.ci/run'), /^npm test$/m);
});
