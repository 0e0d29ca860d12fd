/** Waiting behind one seam, so tests can make it instant or controlled. */
import { WaitAborted } from './errors.ts';

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `sleep`, cut short when `signal` aborts; the caller checks `signal.aborted` afterwards. */
export function sleepUnlessAborted(sleep: Sleep, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void sleep(ms).then(done, done);
  });
}

/** `sleep`, or WaitAborted as soon as `signal` aborts (at once if it already has). */
export async function sleepOrAbort(sleep: Sleep, ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (!signal) return sleep(ms);
  await sleepUnlessAborted(sleep, ms, signal);
  if (signal.aborted) throw new WaitAborted(what, signal);
}
