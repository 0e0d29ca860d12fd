/**
 * Every attempt of a paced call takes its turn, the SDK's own retries included. The SDK
 * retries a throttled RunInstances by itself; unpaced, that retry would spend a token of
 * EC2's bucket the pacer still counts, and the next launch would be throttled in turn.
 * A throttled answer tells the pacer that EC2's bucket is empty.
 */
import { isThrottling } from './failures.ts';
import type { Pacer } from './pacer.ts';

/** One attempt in the SDK's middleware stack: the request in, the answer (or its error) out. */
type Attempt = (args: any) => Promise<any>;

/** What of an SDK command this needs: its own middleware stack. */
interface Command {
  readonly middlewareStack: { add(middleware: (next: Attempt) => Attempt, options: { step: 'finalizeRequest'; priority: 'low'; name: string }): void };
}

/**
 * `command` has had its first turn already (taken before it was sent, where a stop can end
 * the wait cleanly): its later attempts take theirs from `pacer` too.
 */
export function paceAttempts<C extends Command>(command: C, pacer: Pacer, signal?: AbortSignal): C {
  let attempts = 0;
  const middleware = (next: Attempt): Attempt => async (args) => {
    if (attempts++ > 0) await pacer.take(signal);
    try {
      return await next(args);
    } catch (error) {
      if (isThrottling(error)) pacer.throttled();
      throw error;
    }
  };
  // Low in the finalize step: inside the retry loop, so it sees each attempt and its answer.
  command.middlewareStack.add(middleware, { step: 'finalizeRequest', priority: 'low', name: 'autoamiPacedAttempts' });
  return command;
}
