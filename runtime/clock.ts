/** Time behind one seam so tests can move it: epoch milliseconds, everywhere inside the sidecar. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
