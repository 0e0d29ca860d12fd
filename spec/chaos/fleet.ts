/**
 * The sidecars of a chaos run: real `autoami serve` processes on one database, each with a
 * config and socket of its own, that the killer takes down with SIGKILL and starts again.
 * They run the built bundle with the service unit's node flags, as a master runs them: it
 * starts in a fraction of the time the TypeScript sources take, and a run restarts dozens.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtSidecar, serviceNodeFlags } from '../bench/built-sidecar.ts';
import { spawnSidecar, type SidecarProcess } from '../support/sidecar-process.ts';

export interface SidecarSlot {
  readonly index: number;
  readonly configFile: string;
  readonly socket: string;
}

/** How long one start may take before it counts as failed and is tried again. */
const START_TIMEOUT_MS = 60_000;
const RETRY_MS = 300;

export class Fleet {
  readonly slots: readonly SidecarSlot[];
  readonly #running = new Map<number, SidecarProcess>();
  /** A slot's start under way; a kill of that slot waits for it. */
  readonly #starting = new Map<number, Promise<void>>();
  #closed = false;
  /** Starts that failed (e.g. while MariaDB was down) and were tried again. */
  failedStarts = 0;
  readonly #log: (line: string) => void;
  /** Where each sidecar's output goes once it has exited (sidecar-N.log), one process after the other; none when absent. */
  readonly #logDir: string | undefined;

  constructor(slots: readonly SidecarSlot[], log: (line: string) => void, logDir?: string) {
    this.slots = slots;
    this.#log = log;
    this.#logDir = logDir;
  }

  #keepLog(index: number, sidecar: SidecarProcess, how: string): void {
    if (this.#logDir === undefined) return;
    appendFileSync(join(this.#logDir, `sidecar-${index}.log`), `=== pid ${sidecar.child.pid} ended by ${how}\n${sidecar.log()}\n`);
  }

  sockets(): string[] {
    return this.slots.map((slot) => slot.socket);
  }

  /** Starts the slot's sidecar, again and again until one listens (a start fails while the store is down). */
  start(index: number): Promise<void> {
    const under = this.#starting.get(index);
    if (under) return under;
    const slot = this.slots[index]!;
    const starting = (async () => {
      while (!this.#closed) {
        try {
          const sidecar = await spawnSidecar(slot.configFile, slot.socket, START_TIMEOUT_MS, builtSidecar(), serviceNodeFlags());
          if (this.#closed) {
            sidecar.child.kill('SIGKILL');
            return;
          }
          this.#running.set(index, sidecar);
          return;
        } catch (error) {
          this.failedStarts += 1;
          this.#log(`sidecar #${index} did not start, trying again: ${String((error as Error).message).split('\n')[0]}`);
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    })().finally(() => this.#starting.delete(index));
    this.#starting.set(index, starting);
    return starting;
  }

  /** SIGKILL once the slot's sidecar is up; resolves when it has exited. */
  async kill(index: number): Promise<void> {
    await this.#starting.get(index);
    const sidecar = this.#running.get(index);
    if (!sidecar || this.#closed) return;
    this.#running.delete(index);
    const exited = new Promise((resolve) => {
      if (sidecar.child.exitCode !== null || sidecar.child.signalCode !== null) resolve(undefined);
      else sidecar.child.once('exit', resolve);
    });
    sidecar.child.kill('SIGKILL');
    await exited;
    this.#keepLog(index, sidecar, 'SIGKILL');
  }

  /** Logs of the sidecars running now, for a failure report. */
  logs(): string[] {
    return [...this.#running.entries()].map(([index, sidecar]) => `--- sidecar #${index}\n${sidecar.log().split('\n').slice(-40).join('\n')}`);
  }

  /** Every sidecar stopped (SIGTERM) and no more starts. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#starting.values());
    await Promise.all([...this.#running].map(async ([index, sidecar]) => {
      await sidecar.stop();
      this.#keepLog(index, sidecar, 'SIGTERM');
    }));
    this.#running.clear();
  }
}
