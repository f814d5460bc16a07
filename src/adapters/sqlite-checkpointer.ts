/**
 * Checkpoints the SQLite write-ahead log from a worker thread, so that the
 * event loop never stops to copy WAL pages into the database file (with
 * automatic checkpoints, every ~1,000 pages one commit paid for it, a latency
 * spike for everyone). PASSIVE checkpoints run beside the writer without
 * blocking it.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export function startCheckpointer(path: string, intervalMs = 250): Worker {
  const worker = new Worker(new URL(import.meta.url), { workerData: { path, intervalMs } });
  worker.unref();
  return worker;
}

if (!isMainThread && (workerData as { path?: string } | undefined)?.path) {
  const { path, intervalMs } = workerData as { path: string; intervalMs: number };
  const db = new Database(path);
  db.pragma('busy_timeout = 1000');
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      /* busy: the next round catches up */
    }
  }, intervalMs);
  parentPort?.on('message', (m) => {
    if (m === 'stop') {
      clearInterval(timer);
      db.close();
      parentPort?.close();
    }
  });
}
