/** The gate that bounds work per node (pure logic: no server needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../src/errors.js';
import { Gate } from '../src/service/gate.js';

/** A task that runs until `release()` is called. */
function held() {
  let release!: () => void;
  const done = new Promise<void>((r) => { release = r; });
  return { release, task: () => done };
}

test('a gate runs at most `concurrency` tasks, queues `queue` more in order, and refuses the rest with unavailable', async () => {
  const gate = new Gate(2, 2, 'pictures');
  const started: number[] = [];
  const tasks = [0, 1, 2, 3].map(() => held());
  const runs = tasks.map((t, i) => gate.run(async () => {
    started.push(i);
    await t.task();
    return i;
  }));
  await Promise.resolve();
  assert.deepEqual(started, [0, 1], 'two run, two wait');
  assert.equal(gate.busy, 4);

  // The fifth is refused at once, before it could take memory, with a retry hint.
  await assert.rejects(gate.run(async () => 5), (err: unknown) => err instanceof AppError && err.code === 'unavailable' && err.retryAfterMs === 1000 && /pictures/.test(err.message));
  assert.throws(() => gate.check(), (err: unknown) => err instanceof AppError && err.code === 'unavailable');
  assert.equal(gate.stats.refused, 2);

  // A slot freed goes to the first waiter, also when the task failed.
  tasks[1]!.release();
  await runs[1];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1, 2]);
  gate.check(); // room for one again: does not throw

  const failing = new Gate(1, 0, 'pictures');
  await assert.rejects(failing.run(async () => { throw new Error('decoder failed'); }), /decoder failed/);
  assert.equal(await failing.run(async () => 'next'), 'next', 'a failed task gives its slot back');

  for (const t of tasks) t.release();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
  assert.equal(gate.busy, 0);
});
