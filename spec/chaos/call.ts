/**
 * One call on a fresh session that fails as soon as the sidecar goes away: a SIGKILL closes
 * the socket mid-call, and a client that waited out a timeout for it would slow the run down.
 */
import { createConnection } from 'node:net';

export class CallFailed extends Error {
  readonly code = 'chaos_call_failed';
}

let seq = 0;

export interface Reply {
  readonly result?: Record<string, any>;
  readonly error?: { code: number; message: string; data?: unknown };
}

export function callOnce(socketPath: string, method: string, params: unknown, timeoutMs = 20_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const helloId = `hello-${++seq}`;
    const callId = `call-${seq}`;
    let buffer = '';
    let settled = false;
    const end = (error: Error | undefined, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply!);
    };
    const timer = setTimeout(() => end(new CallFailed(`${method}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: helloId, method: 'hello', params: { protocol: 1, client: 'chaos' } })}\n`));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, newline)) as Record<string, any>;
        buffer = buffer.slice(newline + 1);
        if (message.id === helloId) {
          if (!message.result) return end(new CallFailed(`hello: ${JSON.stringify(message.error)}`));
          socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: callId, method, params })}\n`);
        } else if (message.id === callId) {
          end(undefined, { result: message.result, error: message.error });
        }
      }
    });
    socket.once('error', (error) => end(new CallFailed(`${method}: ${error.message}`)));
    socket.once('close', () => end(new CallFailed(`${method}: the sidecar closed the connection`)));
  });
}
