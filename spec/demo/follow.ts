/**
 * One JSON-RPC call whose `progress` notifications are handed over as they arrive, as
 * `puppet autoami run --wait` prints them. Give it a connection of its own: it reads every
 * message on it.
 */
import type { RawClient } from '../support/rpc.ts';

export interface Progress {
  line: string;
  group: string;
  state: string;
  outcome: string | null;
}

let calls = 0;

export async function callFollowing(
  client: RawClient,
  method: string,
  params: unknown,
  onProgress: (progress: Progress) => void,
  timeoutMs = 60_000,
): Promise<Record<string, any>> {
  const id = `follow-${++calls}`;
  client.send(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
  for (;;) {
    // The sidecar sends a heartbeat at least every 20 s, so a silent minute means it is gone.
    const message = await client.next(timeoutMs);
    if (message.method === 'progress' && message.params?.id === id && !message.params.heartbeat) onProgress(message.params as Progress);
    if (message.id !== id || message.method !== undefined) continue;
    if (message.error) throw new Error(`${method} failed: ${message.error.message}`);
    return message.result as Record<string, any>;
  }
}
