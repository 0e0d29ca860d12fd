import { randomBytes, randomUUID } from 'node:crypto';

/** Randomness behind one seam, so tests can make ids predictable. */
export type IdSource = () => string;

export const randomId: IdSource = () => randomUUID();

/** A bake's one-time CSR challenge, by bake id; tests pass their own to know it. */
export type SecretSource = (bakeId: string) => string;

/**
 * 256 random bits as 64 hex digits: a valid PrintableString (how Puppet writes a CSR
 * attribute), a plain YAML scalar and a plain shell word, so no quoting can change it.
 */
export const randomSecret = (): string => randomBytes(32).toString('hex');
