import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { ROOT } from './helpers.js';

test('defaults: port 8080, SQLite under ./data', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.databaseUrl, 'sqlite:./data/parley.db');
  assert.ok(Object.isFrozen(c));
});

test('environment and flags; flags win', () => {
  const c = loadConfig({ PORT: '9000', MAX_FRAME_BYTES: '2048' }, ['--port', '9001']);
  assert.equal(c.port, 9001);
  assert.equal(c.maxFrameBytes, 2048);
});

test('a bad value names the setting', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message) && /"eighty"/.test(e.message));
  assert.throws(() => loadConfig({}, ['--max-frame-bytes', '12']), /--max-frame-bytes must be/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  assert.throws(() => loadConfig({}, ['--no-such-flag', '1']), ConfigError);
});

test('parley serve refuses to start on a bad setting, naming it', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/parley.js'), 'serve'], { env: { ...process.env, SEND_RATE: '-1' }, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /SEND_RATE must be/);
});

test('parley migrate creates the schema and is repeatable', async () => {
  const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'));
  try {
    for (let i = 0; i < 2; i++) {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/parley.js'), 'migrate', '--database-url', `sqlite:${dir}/sub/db.sqlite`], { encoding: 'utf8', timeout: 10000 });
      assert.equal(r.status, 0, r.stderr);
    }
    assert.ok(existsSync(join(dir, 'sub/db.sqlite')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
