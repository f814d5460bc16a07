/** Node-only helpers: `import { FileStorage } from '@parley/sdk/node'`. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyValueStorage } from './storage.js';

/** Keeps the SDK's state in one JSON file, rewritten atomically on each change. */
export class FileStorage implements KeyValueStorage {
  private data: Record<string, string>;

  constructor(private readonly path: string) {
    try {
      this.data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    } catch {
      this.data = {};
    }
  }

  get(key: string): string | undefined {
    return Object.hasOwn(this.data, key) ? this.data[key] : undefined;
  }

  set(key: string, value: string): void {
    this.data[key] = value;
    this.flush();
  }

  delete(key: string): void {
    delete this.data[key];
    this.flush();
  }

  private flush(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data));
    renameSync(tmp, this.path);
  }
}
