/**
 * The one-time challenge that ties a CSR to the bake that launched its instance. The
 * certname and pp_instance_id are public (anyone who sees the instance knows them); the
 * challenge is not: a fresh random secret per bake, handed to the instance only through
 * its bootstrap (the ssh session's script, or the user-data), which the agent puts in its
 * CSR as the PKCS#9 challengePassword attribute (csr_attributes.yaml custom_attributes).
 *
 * The store keeps only `challengeHash(secret)`; the secret itself lives in memory for the
 * step that hands it over, and is never logged. Once a CSR carrying it is signed, the
 * hash is cleared, so the secret cannot sign a second CSR.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretSource } from '../random.ts';

/** PKCS#9 challengePassword. */
export const CHALLENGE_PASSWORD_OID = '1.2.840.113549.1.9.7';

const PREFIX = 'sha256:';
/** The only shape a stored challenge may have: a digest, never something that could be the secret. */
export const CHALLENGE_HASH = /^sha256:[0-9a-f]{64}$/;

const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** What the store keeps for `secret`. A SHA-256 suffices: the secret has 256 random bits, so there is nothing to guess. */
export function challengeHash(secret: string): string {
  return `${PREFIX}${digest(secret).toString('hex')}`;
}

/** Does `candidate` (from a CSR) hash to `stored`? Both sides are fixed-length digests, compared in constant time. */
export function challengeMatches(candidate: string, stored: string): boolean {
  if (!CHALLENGE_HASH.test(stored)) return false;
  return timingSafeEqual(digest(candidate), Buffer.from(stored.slice(PREFIX.length), 'hex'));
}

/**
 * Each bake's secret, derived from a key every sidecar sharing the store holds (never the
 * store itself) and the bake id. Whichever sidecar resumes a launch, and however often,
 * it hands the instance the same secret: RunInstances keeps the bake id as ClientToken,
 * so a resumed launch adopts its instance and never starts a second one. 64 hex digits,
 * the same shape as `randomSecret`.
 */
export function derivedSecrets(key: Buffer): SecretSource {
  return (bakeId) => createHmac('sha256', key).update(`autoami bake challenge\0${bakeId}`, 'utf8').digest('hex');
}

/**
 * The key: the database password where sidecars share MySQL (each holds it; whoever holds
 * it can already write the store, hashes included, so it grants nothing new), else a
 * random key kept 0600 in state_dir for the one sidecar of the embedded store.
 */
export function challengeKey(databasePassword: string | undefined, stateDir: string): Buffer {
  if (databasePassword) return createHash('sha256').update(`autoami challenge key\0${databasePassword}`, 'utf8').digest();
  const file = join(stateDir, 'challenge.key');
  try {
    writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = readFileSync(file);
  if (key.length < 32) throw new Error(`${file} holds ${key.length} bytes, not a 32-byte key: remove it and restart (no bake may be waiting for a certificate)`);
  return key;
}

/**
 * The key the catalog check hashes sensitive parameter values with: from the same shared
 * key, so every sidecar on the store hashes a value alike, and a stored hash cannot be
 * checked against guesses without it.
 */
export function sensitiveValueKey(key: Buffer): Buffer {
  return createHmac('sha256', key).update('autoami catalog sensitive values', 'utf8').digest();
}
