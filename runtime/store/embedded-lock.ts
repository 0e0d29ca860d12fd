/**
 * One sidecar per embedded store file: a pid lock file beside it, and the durable-write
 * helpers that both the lock and the document use.
 */
import { link, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { StoreUnavailableError } from '../errors.ts';

let seq = 0;
/** A temp name no other write in this process (or any other pid) can be using. */
export const tempName = (path: string): string => `${path}.tmp-${process.pid}-${++seq}`;

export async function withFile<T>(path: string, flags: string, body: (handle: FileHandle) => Promise<T>, mode?: number): Promise<T> {
  const handle = await open(path, flags, mode);
  try {
    return await body(handle);
  } finally {
    await handle.close();
  }
}

export const writeSynced = (path: string, text: string): Promise<void> =>
  withFile(path, 'wx', async (handle) => {
    await handle.writeFile(text);
    await handle.sync();
  }, 0o600);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileLock {
  readonly #path: string;
  readonly #lockPath: string;
  #ino: number | undefined;

  constructor(path: string) {
    this.#path = path;
    this.#lockPath = `${path}.lock`;
  }

  /**
   * The lock file is written in full under a temp name and hard-linked into place, so no
   * one ever sees it empty. A stale one is removed only if it is still the same file
   * (inode) that was judged stale, which keeps two takers from removing each other's.
   */
  async take(): Promise<void> {
    const temp = `${this.#lockPath}.${process.pid}-${++seq}`;
    await writeSynced(temp, `${process.pid}\n`);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(temp, this.#lockPath);
          this.#ino = (await stat(this.#lockPath)).ino;
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const held = await this.#read();
        if (!held) continue;
        if (!Number.isInteger(held.pid) || held.pid <= 0) {
          throw new StoreUnavailableError(`lock file ${this.#lockPath} holds no pid; remove it if no sidecar is running`);
        }
        if (alive(held.pid)) {
          throw new StoreUnavailableError(
            `${this.#path} is in use by process ${held.pid} (lock ${this.#lockPath}); remove the lock only if that pid is not an autoami sidecar`,
          );
        }
        const now = await stat(this.#lockPath).catch(() => undefined);
        if (now?.ino === held.ino) await unlink(this.#lockPath).catch(() => undefined);
      }
      throw new StoreUnavailableError(`could not take the lock ${this.#lockPath}: others keep taking it`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    if (this.#ino === undefined) return;
    const held = await this.#read();
    if (held?.ino === this.#ino && held.pid === process.pid) await unlink(this.#lockPath);
    this.#ino = undefined;
  }

  async #read(): Promise<{ pid: number; ino: number } | undefined> {
    try {
      return await withFile(this.#lockPath, 'r', async (handle) => ({
        ino: (await handle.stat()).ino,
        pid: Number((await handle.readFile('utf8')).trim()),
      }));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
