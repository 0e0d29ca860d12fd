/**
 * A throwaway MariaDB for tests: one per test process, started on first use
 * in a temp dir and removed when the process ends, however it ends short of SIGKILL.
 * Tests never skip for want of it: a missing mariadbd is a loud failure.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import type { DatabaseConfig } from '../../runtime/config.ts';

export interface Mariadb {
  readonly socketPath: string;
  readonly port: number;
  /** Logs in over the socket without a password. */
  readonly rootUser: 'root';
  /** A fresh database with its own user and random password, granted only on it. */
  createDatabase(): Promise<DatabaseConfig>;
  stop(): Promise<void>;
}

/** Only bounds a hang: InnoDB's first start on two busy cores can take tens of seconds. */
const START_TIMEOUT_MS = 120_000;
let running: Promise<Mariadb> | undefined;

/** Starts the process-wide server on first call; later calls share it. */
export function startMariadb(): Promise<Mariadb> {
  running ??= launch().catch((error: unknown) => {
    running = undefined;
    throw error;
  });
  return running;
}

export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/mysql/bin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  throw new Error(`${name} not found: install mariadb-server (apt-get install mariadb-server) to run the MySQL store tests`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log written)';
  }
}

// kill(pid, 0) also succeeds on a zombie, and the exit handler cannot wait for the event
// loop to reap one, so where there is /proc its state has the last word.
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true;
  }
}

/** Synchronous, for 'exit' and signal handlers, where nothing asynchronous runs. */
export function stopSync(child: ChildProcess, dir: string): void {
  const pid = child.pid;
  if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
    const deadline = Date.now() + 20_000;
    while (isAlive(pid) && Date.now() < deadline) Atomics.wait(nap, 0, 0, 50);
    if (isAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

// SIGKILL gives no chance to clean up, so each launch removes servers whose test process
// is gone. The server's pid is trusted only while its command line names the dir.
export function sweepOrphans(base: string): void {
  for (const entry of readdirSync(base).filter((e) => e.startsWith('autoami-mariadb-'))) {
    const dir = join(base, entry);
    try {
      if (isAlive(Number(readFileSync(join(dir, 'owner.pid'), 'utf8')))) continue;
      const server = Number(readFileSync(join(dir, 'mysqld.pid'), 'utf8'));
      if (readFileSync(`/proc/${server}/cmdline`, 'utf8').includes(dir)) process.kill(server, 'SIGKILL');
    } catch {}
    if (existsSync(join(dir, 'owner.pid'))) rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh datadir under a temp dir this process owns, and the places a server there uses. */
export interface ServerDir {
  readonly mariadbd: string;
  readonly dir: string;
  readonly datadir: string;
  readonly socketPath: string;
  readonly errLog: string;
  readonly port: number;
}

export async function prepareServerDir(): Promise<ServerDir> {
  const mariadbd = findBinary('mariadbd');
  const installDb = findBinary('mariadb-install-db');
  // Unix socket paths are limited to ~107 bytes, so fall back to /tmp under a long TMPDIR.
  const base = tmpdir().length > 60 ? '/tmp' : tmpdir();
  sweepOrphans(base);
  const dir = await mkdtemp(join(base, 'autoami-mariadb-'));
  // Renamed into place so a sweeping process never reads it half-written.
  writeFileSync(join(dir, 'owner.tmp'), `${process.pid}\n`);
  renameSync(join(dir, 'owner.tmp'), join(dir, 'owner.pid'));
  const datadir = join(dir, 'data');
  try {
    await promisify(execFile)(installDb, [
      '--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot(),
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`mariadb-install-db failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
  return { mariadbd, dir, datadir, socketPath: join(dir, 'mysqld.sock'), errLog: join(dir, 'err.log'), port: await freePort() };
}

const asRoot = (): string[] => (process.getuid?.() === 0 ? ['--user=root'] : []);

/** mariadbd on `server`'s datadir, not holding the test process open (exit hooks stop it). */
export function spawnMariadbd(server: ServerDir): ChildProcess {
  const { mariadbd, dir, datadir, socketPath, port, errLog } = server;
  const child = spawn(mariadbd, [
    '--no-defaults', `--datadir=${datadir}`, `--socket=${socketPath}`, `--port=${port}`, '--bind-address=127.0.0.1',
    `--pid-file=${join(dir, 'mysqld.pid')}`, `--log-error=${errLog}`, ...asRoot(),
  ], { stdio: 'ignore' });
  child.unref();
  return child;
}

/** Resolves once root can log in; otherwise throws with the end of the server's log. */
export async function untilAccepting(child: ChildProcess, server: ServerDir): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode}) while starting; end of its log:\n${logTail(server.errLog)}`);
    }
    try {
      const conn = await createConnection({ socketPath: server.socketPath, user: 'root' });
      await conn.end();
      return;
    } catch {}
    if (Date.now() > deadline) {
      throw new Error(`mariadbd did not accept connections on ${server.socketPath} within ${START_TIMEOUT_MS / 1000} s; end of its log:\n${logTail(server.errLog)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `cleanup` when the test process exits or is interrupted (then re-raising the signal),
 * so no server outlives it; the returned function takes the hooks off again.
 */
export function onProcessEnd(cleanup: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once('exit', cleanup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('exit', cleanup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function launch(): Promise<Mariadb> {
  const server = await prepareServerDir();
  const { dir, socketPath, port } = server;
  const child = spawnMariadbd(server);
  const forget = onProcessEnd(() => stopSync(child, dir));
  try {
    await untilAccepting(child, server);
  } catch (error) {
    forget();
    stopSync(child, dir);
    throw error;
  }

  return {
    socketPath,
    port,
    rootUser: 'root',
    createDatabase: () => createDatabaseOn(socketPath, port),
    async stop() {
      forget();
      running = undefined;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;

/** A fresh database with its own user and random password on the server at socketPath (root logs in without one). */
export async function createDatabaseOn(socketPath: string, port: number): Promise<DatabaseConfig> {
  // Identifiers cannot be placeholders, so they are built only from this [a-z0-9_] id.
  const id = `${process.pid}_${++seq}_${randomBytes(4).toString('hex')}`;
  const name = `autoami_t${id}`;
  const user = `autoami_u${id}`;
  if (!/^[a-z0-9_]+$/.test(id)) throw new Error(`bad generated id ${id}`);
  // Quotes and a backslash prove the password survives every layer unmangled.
  const password = `p'"\\;${randomBytes(12).toString('base64url')}`;
  const admin = await createConnection({ socketPath, user: 'root' });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    for (const host of ['localhost', '127.0.0.1']) {
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, host, password]);
      await admin.query(`GRANT ALL PRIVILEGES ON \`${name}\`.* TO ?@?`, [user, host]);
    }
  } finally {
    await admin.end();
  }
  return { host: undefined, port, socket_path: socketPath, user, password, name, pool_size: 4 };
}
