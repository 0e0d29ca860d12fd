/**
 * What a bake spec scripts into the in-memory EC2 to make it fail or hang: errors shaped as
 * the real adapter throws them, and the waits only a stopping engine ends.
 */
import { toEc2Error } from '../../runtime/ec2/failures.ts';
import type { Abortable } from '../../runtime/ec2/types.ts';
import { WaitAborted, type Ec2Error } from '../../runtime/errors.ts';
import { statusFor } from './ec2/errors.ts';
import type { Ec2Call } from './fake-ec2-calls.ts';

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * An EC2 failure as the adapter hands it on: an SDK-shaped error mapped by toEc2Error, so
 * the engine classifies it exactly as it would a real one (throttling and the network pass,
 * capacity, permissions and missing resources do not).
 */
export function ec2Failure(code: string, action = 'RunInstances', region = 'us-east-1'): Ec2Error {
  const sdk = NETWORK_CODES.has(code)
    ? Object.assign(new Error(`socket hang up (${code})`), { code })
    : Object.assign(new Error(`simulated ${code}`), { name: code, Code: code, $metadata: { httpStatusCode: statusFor(code) } });
  return toEc2Error(sdk, { action, region, endpoint: 'https://ec2.fake.test' });
}

/** Resolves never; rejects with WaitAborted once `signal` aborts: a wait that only a stop ends. */
export function untilAborted(signal: AbortSignal | undefined, what: string): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (!signal) return;
    const abort = () => reject(new WaitAborted(what, signal));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

/** The AbortSignal an Ec2 call was given, if any. */
export function signalOf(call: Ec2Call): AbortSignal | undefined {
  const options = call.args.find((arg): arg is Abortable => typeof arg === 'object' && arg !== null && 'signal' in arg);
  return options?.signal;
}
