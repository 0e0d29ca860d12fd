/**
 * The store for a single sidecar without MySQL: one JSON file, held in memory, rewritten
 * whole on every change. A kill at any moment leaves the old file or the new one.
 */
import { link, mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConflictError, StoreUnavailableError } from '../errors.ts';
import { newGroup, type Group, type GroupSettings, type Store } from './store.ts';

/** Bump with an entry in UPGRADES when the file layout changes. */
export const EMBEDDED_SCHEMA_VERSION = 1;
// UPGRADES[i] turns a document at schema_version i+1 into one at i+2.
const UPGRADES: readonly ((doc: Record<string, unknown>) => Record<string, unknown>)[] = [];

// Code-point order (UTF-8 byte order), the order MySQL's utf8mb4_bin gives.
function byName(a: Group, b: Group): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

function corrupt(path: string, why: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`${path} ${why}; it was left untouched: repair it or move it aside`, cause);
}

async function load(path: string): Promise<Map<string, Group>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StoreUnavailableError(`cannot read ${path}: ${(error as Error).message}`, error);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, `is not valid JSON (${(error as Error).message})`, error);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt(path, 'does not hold a JSON object');
  let raw = doc as Record<string, unknown>;
  const version = raw.schema_version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) throw corrupt(path, 'has no valid schema_version');
  if (version > EMBEDDED_SCHEMA_VERSION) {
    throw corrupt(path, `has schema_version ${version}, newer than this autoami knows (${EMBEDDED_SCHEMA_VERSION})`);
  }
  for (const upgrade of UPGRADES.slice(version - 1)) raw = upgrade(raw);
  if (!Array.isArray(raw.groups)) throw corrupt(path, 'has no groups array');
  const groups = new Map<string, Group>();
  for (const group of raw.groups as Group[]) {
    if (typeof group?.name !== 'string') throw corrupt(path, 'holds a group without a name');
    groups.set(group.name, Object.freeze(group));
  }
  return groups;
}

async function withFile<T>(path: string, flags: string, body: (handle: FileHandle) => Promise<T>, mode?: number): Promise<T> {
  const handle = await open(path, flags, mode);
  try {
    return await body(handle);
  } finally {
    await handle.close();
  }
}

const writeSynced = (path: string, text: string): Promise<void> =>
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

export class EmbeddedStore implements Store {
  readonly backend = 'embedded' as const;
  readonly path: string;
  readonly #lockPath: string;
  #lockIno: number | undefined;
  #groups: Map<string, Group> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #seq = 0;

  constructor(path: string) {
    this.path = path;
    this.#lockPath = `${path}.lock`;
  }

  async open(): Promise<void> {
    if (this.#groups) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await this.#lock();
    try {
      this.#groups = await load(this.path);
      await this.#removeLeftovers();
    } catch (error) {
      await this.#unlock();
      throw error;
    }
  }

  async createGroup(settings: GroupSettings): Promise<Group> {
    return this.#write((groups) => {
      if (groups.has(settings.name)) throw new ConflictError('name', `group ${JSON.stringify(settings.name)} already exists`);
      const group = Object.freeze(newGroup(settings, new Date().toISOString()));
      groups.set(group.name, group);
      return group;
    });
  }

  async getGroup(name: string): Promise<Group | undefined> {
    return this.#state().get(name);
  }

  async listGroups(): Promise<Group[]> {
    return [...this.#state().values()].sort(byName);
  }

  async deleteGroup(name: string): Promise<boolean> {
    if (!this.#state().has(name)) return false;
    return this.#write((groups) => groups.delete(name));
  }

  async ping(): Promise<void> {
    this.#state();
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#groups = undefined;
    await this.#unlock();
  }

  #state(): Map<string, Group> {
    if (!this.#groups) throw new StoreUnavailableError(`embedded store ${this.path} is not open`);
    return this.#groups;
  }

  /**
   * Changes a copy, persists it, and only then shows it to readers, so a failed write
   * leaves memory matching disk. The queue keeps writers from overtaking each other.
   */
  #write<T>(change: (groups: Map<string, Group>) => T): Promise<T> {
    const run = this.#queue.then(async () => {
      const next = new Map(this.#state());
      const result = change(next);
      await this.#persist(next);
      this.#groups = next;
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #persist(groups: Map<string, Group>): Promise<void> {
    const doc = { schema_version: EMBEDDED_SCHEMA_VERSION, groups: [...groups.values()].sort(byName) };
    const temp = `${this.path}.tmp-${process.pid}-${++this.#seq}`;
    try {
      await writeSynced(temp, `${JSON.stringify(doc, null, 2)}\n`);
      await rename(temp, this.path);
      await withFile(dirname(this.path), 'r', (handle) => handle.sync());
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new StoreUnavailableError(`cannot write ${this.path}: ${(error as Error).message}`, error);
    }
  }

  // Temp files are only ever written under the lock, so any found now are from a crash.
  async #removeLeftovers(): Promise<void> {
    const prefix = `${basename(this.path)}.tmp-`;
    for (const entry of await readdir(dirname(this.path))) {
      if (entry.startsWith(prefix)) await unlink(join(dirname(this.path), entry)).catch(() => undefined);
    }
  }

  /**
   * The lock file is written in full under a temp name and hard-linked into place, so no
   * one ever sees it empty. A stale one is removed only if it is still the same file
   * (inode) that was judged stale, which keeps two takers from removing each other's.
   */
  async #lock(): Promise<void> {
    const temp = `${this.#lockPath}.${process.pid}-${++this.#seq}`;
    await writeSynced(temp, `${process.pid}\n`);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(temp, this.#lockPath);
          this.#lockIno = (await stat(this.#lockPath)).ino;
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const held = await this.#readLock();
        if (!held) continue;
        if (!Number.isInteger(held.pid) || held.pid <= 0) {
          throw new StoreUnavailableError(`lock file ${this.#lockPath} holds no pid; remove it if no sidecar is running`);
        }
        if (alive(held.pid)) {
          throw new StoreUnavailableError(
            `${this.path} is in use by process ${held.pid} (lock ${this.#lockPath}); remove the lock only if that pid is not an autoami sidecar`,
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

  async #readLock(): Promise<{ pid: number; ino: number } | undefined> {
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

  async #unlock(): Promise<void> {
    if (this.#lockIno === undefined) return;
    const held = await this.#readLock();
    if (held?.ino === this.#lockIno && held.pid === process.pid) await unlink(this.#lockPath);
    this.#lockIno = undefined;
  }
}
