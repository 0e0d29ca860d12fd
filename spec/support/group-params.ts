import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

/** A readable key file, as `--keyfile` demands one. */
export function keyfile(): string {
  const path = join(tempDir(), 'deploy.pem');
  writeFileSync(path, '-----BEGIN OPENSSH PRIVATE KEY-----\ntest\n-----END OPENSSH PRIVATE KEY-----\n', { mode: 0o600 });
  return path;
}

/** The seed's new_group parameters, as the face sends them. */
export function seedGroup(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'wordpress',
    image: 'ami-0abc1234',
    type: 't3.micro',
    keyname: 'deploy',
    keyfile: keyfile(),
    login: 'ec2-user',
    puppetserver: 'puppet.example.com',
    node_group: 'wordpress',
    enc_user: 'admin',
    enc_pass: 'secret',
    ...overrides,
  };
}
