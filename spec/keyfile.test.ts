/**
 * --keyfile is read later by the sidecar as its own user, so new_group checks it as that
 * user and says which ownership would work. Run as an unprivileged user, as the unit does.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { tempDir } from './support/tmp.ts';

const Keyfile = suite('keyfile');
const NOBODY = 65534;

/** The probe as `nobody`: a user that, like the sidecar's, owns neither the key nor root's directories. */
function checkAs(uid: number, keyfile: string): string {
  const run = (node: string) =>
    spawnSync(node, ['--import', 'tsx', join(import.meta.dirname, 'support', 'keyfile-probe.ts'), keyfile], {
      uid,
      gid: uid,
      cwd: join(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH, HOME: '/nonexistent' },
      encoding: 'utf8',
    });
  // The suite's Node may live where only root can reach it (`--node 22` keeps it under root's
  // home): the host's `node` on PATH then runs the probe, which is about files, not versions.
  let probe = run(process.execPath);
  if (probe.error) probe = run('node');
  assert.is(probe.status, 0, `${probe.error?.message ?? ''}${probe.stderr}`);
  return probe.stdout.trim();
}

/** A fresh directory the other user may enter (mkdtemp makes them 0700). */
function openDir(name: string): string {
  const base = tempDir();
  chmodSync(base, 0o755);
  return join(base, name);
}

function keyIn(dir: string, mode: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const path = join(dir, 'deploy.pem');
  writeFileSync(path, '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n', { mode });
  chmodSync(path, mode);
  return path;
}

Keyfile.before(() => {
  if (userInfo().uid !== 0) throw new Error('spec/keyfile.test.ts checks file ownership across users and must run as root (as CI does)');
});

Keyfile("should name the sidecar's user, the file's owner and mode, and the fix for a root-only key", () => {
  const key = keyIn(openDir('root-only'), 0o600);
  const message = checkAs(NOBODY, key);
  assert.match(message, /^keyfile: .* is not readable by the sidecar, which runs as user nobody \(uid 65534\); the file is uid 0 gid 0 mode 0600: give it to the sidecar's user: chown nobody FILE && chmod 0600 FILE$/);
});

Keyfile('should say when a directory on the way is closed to the sidecar', () => {
  const dir = openDir('closed');
  const key = keyIn(join(dir, 'keys'), 0o644);
  chmodSync(dir, 0o700);
  assert.match(checkAs(NOBODY, key), /is not reachable by the sidecar, which runs as user nobody .*a directory on its path is closed to it/);
});

Keyfile('should accept the key once the sidecar user owns it', () => {
  const key = keyIn(openDir('owned'), 0o600);
  chownSync(key, NOBODY, NOBODY);
  assert.is(checkAs(NOBODY, key), 'ok');
});

Keyfile.run();
