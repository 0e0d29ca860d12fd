import { randomUUID } from 'node:crypto';

/** Randomness behind one seam, so tests can make ids predictable. */
export type IdSource = () => string;

export const randomId: IdSource = () => randomUUID();
