/**
 * The Unix socket server: frames lines, hands requests to the dispatcher, and drains
 * in-flight calls on shutdown so no client loses an answer it was promised.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AutoamiError, ErrorCode, asAutoamiError } from './errors.ts';
import { LineSplitter, errorLine, notificationLine, parseLine, resultLine, type RequestId } from './protocol.ts';
import type { Dispatcher, Session } from './dispatcher.ts';
import type { Logger } from './log.ts';

/** A call in flight hears from the sidecar at least this often. */
const HEARTBEAT_MS = 20_000;
/** A call that ignores its abort signal may hold the stop this long, no longer: systemd's stop timeout is far away. */
const STOP_GRACE_MS = 5_000;

export interface SocketServer {
  readonly path: string;
  /** Stop accepting, answer what is in flight, then close every connection. */
  close(): Promise<void>;
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A socket file nobody listens on is left over from a crash; a live one is another sidecar. */
async function clearStaleSocket(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return;
  }
  if (!info.isSocket()) throw new AutoamiError(ErrorCode.Config, `config socket: ${path} exists and is not a socket`, { data: { field: 'socket' } });
  if (await probe(path)) {
    throw new AutoamiError(ErrorCode.Config, `config socket: another sidecar is already listening on ${path}`, { data: { field: 'socket' } });
  }
  await unlink(path);
}

export interface ListenOptions {
  /** At most this long between messages to a call in flight (a heartbeat when nothing else was said). */
  readonly heartbeatMs?: number;
}

/** A call in flight, as the heartbeat sweep sees it. */
interface Beat {
  readonly id: RequestId;
  readonly write: (text: string) => void;
  /** The sweep count when the call began. */
  readonly since: number;
}

export async function listen(path: string, dispatcher: Dispatcher, log: Logger, { heartbeatMs = HEARTBEAT_MS }: ListenOptions = {}): Promise<SocketServer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  await clearStaleSocket(path);
  const connections = new Set<Socket>();
  const inFlight = new Map<Promise<void>, Beat>();
  let draining = false;
  const stopping = new AbortController();
  let sweeps = 0;

  const server: Server = createServer((socket) => {
    connections.add(socket);
    const session: Session = { hello: false };
    // A client that hung up (killed mid `run --wait`) must not leave its call following bakes for nobody.
    const hangUp = new AbortController();
    socket.once('close', () => hangUp.abort(new AutoamiError(ErrorCode.ShuttingDown, 'the client closed the connection')));
    const signal = AbortSignal.any([stopping.signal, hangUp.signal]);
    const write = (text: string) => {
      if (!socket.destroyed && socket.writable) socket.write(text);
    };
    const handle = (line: Buffer) => {
      const parsed = parseLine(line);
      if (!parsed.ok) return write(errorLine(parsed.id, parsed.error));
      const { request } = parsed;
      if (draining) return write(errorLine(request.id, new AutoamiError(ErrorCode.ShuttingDown, 'the sidecar is shutting down; retry shortly')));
      const call: Promise<void> = dispatcher.dispatch(request, session, (params) => write(notificationLine('progress', { id: request.id, ...params })), signal).then(
        (result) => {
          inFlight.delete(call);
          if (!request.notification) write(resultLine(request.id, result));
        },
        (error: unknown) => {
          inFlight.delete(call);
          const failure = asAutoamiError(error);
          if (failure.code === ErrorCode.Internal) log.error('call failed', { method: request.method, error: failure.message });
          if (!request.notification) write(errorLine(request.id, failure));
        },
      );
      // Long calls (a bake under --wait, an image) hear a heartbeat so clients can keep a short read timeout.
      inFlight.set(call, { id: request.id, write, since: sweeps });
    };
    const splitter = new LineSplitter(handle, () =>
      write(errorLine(null, new AutoamiError(ErrorCode.RequestTooLarge, 'request too large: a line may hold at most 1 MiB'))),
    );
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (error) => log.debug('client connection error', { error: error.message }));
    socket.on('close', () => connections.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o660);
  log.info('listening', { socket: path });
  // One sweep for the whole server, every half interval: a timer per call cost a report
  // more than validating it. A call is beaten once two sweeps have passed since it began,
  // so the first heartbeat comes between one half and one whole interval in, then every half.
  const sweeper = setInterval(() => {
    sweeps++;
    for (const { id, write, since } of inFlight.values()) {
      if (sweeps - since >= 2) write(notificationLine('progress', { id, heartbeat: true }));
    }
  }, heartbeatMs / 2);
  sweeper.unref();

  return {
    path,
    async close() {
      draining = true;
      stopping.abort(new AutoamiError(ErrorCode.ShuttingDown, 'the sidecar is stopping'));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, STOP_GRACE_MS)));
      const drained = (async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight.keys()]);
      })();
      await Promise.race([drained, grace]);
      clearTimeout(graceTimer);
      if (inFlight.size > 0) log.warn('stopped with calls still running', { calls: inFlight.size });
      for (const socket of connections) {
        socket.end();
        // A client that never closes its end must not hold the shutdown open.
        setTimeout(() => socket.destroy(), 1000).unref();
      }
      await closed;
      clearInterval(sweeper);
    },
  };
}
