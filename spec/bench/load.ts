/**
 * Closed-loop load on the sidecar's socket: each client is one connection (after `hello`)
 * with one call in flight, sending the next as soon as the answer is in, as a master's
 * report processors do. Latency is timed around each `report.submit` round trip.
 */
import { session, type RawClient } from '../support/rpc.ts';
import { elapsedMs } from './stats.ts';

/** The params of the next submission, or undefined when there is nothing left to send. */
export type NextReport = () => Record<string, unknown> | undefined;

export interface LoadResult {
  readonly calls: number;
  readonly elapsedMs: number;
  readonly perSecond: number;
  /** Round trip of each call, ms. */
  readonly latenciesMs: number[];
}

/** One call; a JSON-RPC error or an unexpected state fails the benchmark, never skews it. */
export async function submit(client: RawClient, params: Record<string, unknown>, expected: string): Promise<number> {
  const start = performance.now();
  const reply = await client.call('report.submit', params);
  const took = elapsedMs(start);
  if (reply.result?.state !== expected) throw new Error(`report.submit answered ${JSON.stringify(reply.result ?? reply.error)}, expected state ${expected}`);
  return took;
}

/** Sequential calls on one connection until `next` runs dry. */
export async function sequential(socket: string, next: NextReport, expected: string): Promise<number[]> {
  const client = await session(socket);
  try {
    const latencies: number[] = [];
    for (let params = next(); params; params = next()) latencies.push(await submit(client, params, expected));
    return latencies;
  } finally {
    client.close();
  }
}

/** `clients` connections submitting for `durationMs` or until `next` runs dry. */
export async function closedLoop(socket: string, clients: number, durationMs: number, next: NextReport, expected: string): Promise<LoadResult> {
  const sessions = await Promise.all(Array.from({ length: clients }, () => session(socket)));
  const latenciesMs: number[] = [];
  const start = performance.now();
  const until = start + durationMs;
  try {
    await Promise.all(
      sessions.map(async (client) => {
        while (performance.now() < until) {
          const params = next();
          if (!params) return;
          latenciesMs.push(await submit(client, params, expected));
        }
      }),
    );
  } finally {
    for (const client of sessions) client.close();
  }
  const elapsed = elapsedMs(start);
  return { calls: latenciesMs.length, elapsedMs: elapsed, perSecond: (latenciesMs.length / elapsed) * 1000, latenciesMs };
}

/** Endless params: a fresh run summary of `host` for every call. */
export function forever(report: (host: string) => Record<string, unknown>, host: string): NextReport {
  return () => report(host);
}

/** One params per item, then dry. */
export function each<T>(items: readonly T[], params: (item: T) => Record<string, unknown>): NextReport {
  let next = 0;
  return () => (next < items.length ? params(items[next++]!) : undefined);
}
