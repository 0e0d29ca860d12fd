/** A raw line client for protocol tests: sends exactly the bytes a test gives it. */
import { createConnection, type Socket } from 'node:net';

export interface RawClient {
  send(text: string | Buffer): void;
  /** Resolves with the next JSON message from the server. */
  next(timeoutMs?: number): Promise<Record<string, any>>;
  call(method: string, params?: unknown): Promise<Record<string, any>>;
  close(): void;
  readonly socket: Socket;
}

export async function connect(path: string): Promise<RawClient> {
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const queue: Record<string, any>[] = [];
  const waiters: ((message: Record<string, any>) => void)[] = [];
  let buffer = '';
  let nextId = 0;
  socket.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const message = JSON.parse(buffer.slice(0, newline)) as Record<string, any>;
      buffer = buffer.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(message);
      else queue.push(message);
    }
  });
  const client: RawClient = {
    socket,
    send: (text) => socket.write(text),
    // Only bounds a hang: an answer on a loaded machine may be slow, a missing one is a failure either way.
    next(timeoutMs = 60_000) {
      const ready = queue.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      });
    },
    async call(method, params) {
      const id = ++nextId;
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      for (;;) {
        const message = await client.next();
        if (message.id === id && message.method === undefined) return message;
      }
    },
    close: () => socket.destroy(),
  };
  return client;
}

/** Connect and complete `hello`, as every real client does first. */
export async function session(path: string, user?: string): Promise<RawClient> {
  const client = await connect(path);
  const reply = await client.call('hello', { protocol: 1, client: 'spec', ...(user !== undefined && { user }) });
  if (!reply.result) throw new Error(`hello failed: ${JSON.stringify(reply)}`);
  return client;
}

/** One call on a fresh session, as a one-shot client (a face, the report processor) makes it. */
export async function callOnce(path: string, method: string, params: unknown = {}, user?: string) {
  const client = await session(path, user);
  try {
    return await client.call(method, params);
  } finally {
    client.close();
  }
}
