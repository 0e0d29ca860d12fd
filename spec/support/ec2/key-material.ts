import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { KeyTypeName } from './model.ts';

/** What CreateKeyPair hands out once and what EC2 keeps of it. */
export interface KeyMaterial {
  /** The private key, PEM: PKCS#1 for RSA, OpenSSH's own format for ED25519. */
  privateKey: string;
  fingerprint: string;
  /** `ssh-rsa AAAA...` / `ssh-ed25519 AAAA...`. */
  publicKey: string;
}

/** SSH wire encoding: a string is its length (uint32, big-endian) then its bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An mpint: big-endian, with a zero byte in front when the top bit is set. */
function sshMpint(base64url: string): Buffer {
  let bytes = Buffer.from(base64url, 'base64url');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return sshString(bytes);
}

function wrap(base64: string, width: number): string {
  return base64.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');
}

/** EC2 fingerprints an RSA key it made by the SHA-1 of the private key's PKCS#8 DER, in colon-separated hex. */
function rsaKey(): KeyMaterial {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString('ssh-rsa'), sshMpint(jwk.e!), sshMpint(jwk.n!)]);
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString().trimEnd(),
    fingerprint: createHash('sha1').update(der).digest('hex').match(/../g)!.join(':'),
    publicKey: `ssh-rsa ${blob.toString('base64')}`,
  };
}

function ed25519Raw(key: KeyObject, part: 'x' | 'd'): Buffer {
  return Buffer.from(key.export({ format: 'jwk' })[part]!, 'base64url');
}

/** ED25519 keys come in OpenSSH's private key format and are fingerprinted as OpenSSH does: base64 SHA-256 of the public blob. */
function ed25519Key(name: string): KeyMaterial {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = ed25519Raw(privateKey, 'x');
  const seed = ed25519Raw(privateKey, 'd');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(name)]);
  // Unencrypted keys are padded to the cipher block size of "none", 8, with 1, 2, 3, ...
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, n) => n + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(blob),
    sshString(secret),
  ]);
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrap(body.toString('base64'), 70)}\n-----END OPENSSH PRIVATE KEY-----`,
    fingerprint: createHash('sha256').update(blob).digest('base64'),
    publicKey: `ssh-ed25519 ${blob.toString('base64')}`,
  };
}

export function newKeyMaterial(type: KeyTypeName, name: string): KeyMaterial {
  return type === 'rsa' ? rsaKey() : ed25519Key(name);
}
