/**
 * A MariaDB of one test's own, which that test may stop and start again (an outage), on
 * the same socket, port and datadir, so its data outlives the outage. The process-wide
 * server in ./mariadb.ts is shared by every test and must never be stopped; this is not.
 * Removed with its datadir when the test process ends; a missing mariadbd fails loudly.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { DatabaseConfig } from '../../runtime/config.ts';
import { createDatabaseOn, onProcessEnd, prepareServerDir, spawnMariadbd, stopSync, untilAccepting } from './mariadb.ts';

export interface PrivateMariadb {
  readonly socketPath: string;
  readonly port: number;
  readonly running: boolean;
  /** A fresh database with its own user, as in ./mariadb.ts. */
  createDatabase(): Promise<DatabaseConfig>;
  /** SIGTERM, as `systemctl stop` does, and wait until the server has exited. Data stays. */
  stop(): Promise<void>;
  /** Start again on the same datadir, socket and port; resolves once it accepts logins. */
  start(): Promise<void>;
  /** Stop for good and remove the datadir. */
  destroy(): Promise<void>;
}

export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const server = await prepareServerDir();
  const { dir, socketPath, port } = server;
  let child: ChildProcess | undefined;

  // One hook for the whole life of the server, whichever child is current when it fires.
  const onExit = (): void => (child ? stopSync(child, dir) : rmSync(dir, { recursive: true, force: true }));
  const forget = onProcessEnd(onExit);

  const alive = (each: ChildProcess | undefined): boolean => each !== undefined && each.exitCode === null && each.signalCode === null;

  async function stop(): Promise<void> {
    const current = child;
    if (!current || !alive(current)) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  async function start(): Promise<void> {
    if (alive(child)) return;
    child = spawnMariadbd(server);
    try {
      await untilAccepting(child, server);
    } catch (error) {
      await stop();
      throw error;
    }
  }

  try {
    await start();
  } catch (error) {
    forget();
    onExit();
    throw error;
  }

  return {
    socketPath,
    port,
    get running() {
      return alive(child);
    },
    createDatabase: () => createDatabaseOn(socketPath, port),
    stop,
    start,
    async destroy() {
      await stop();
      forget();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A restart as `systemctl restart` gives one, with `downMs` between the old server's exit
 * and the new one's start: clients see their connections drop, then logins refused, then
 * the same data back.
 */
export async function restartPrivateMariadb(server: PrivateMariadb, downMs: number): Promise<void> {
  await server.stop();
  await new Promise((resolve) => setTimeout(resolve, downMs));
  await server.start();
}
