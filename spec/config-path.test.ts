/**
 * Where `autoami` finds autoami.yaml without --config and $AUTOAMI_CONFIG: in the confdir
 * Puppet names (`puppet config print confdir`: /etc/puppet on Debian's packages), then
 * /etc/puppetlabs/puppet. A stand-in `puppet` on PATH plays Puppet.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfigPath } from '../runtime/config.ts';
import { rejects } from './support/rejects.ts';
import { tempDir } from './support/tmp.ts';

const BIN = fileURLToPath(new URL('../runtime/bin/autoami.js', import.meta.url));

const Path = suite('config path');

/** A directory holding an executable `puppet` that runs `body` (sh), logging its arguments. */
function standInPuppet(body: string): { bin: string; calls: string } {
  const bin = tempDir('puppetbin');
  const calls = join(bin, 'calls');
  writeFileSync(join(bin, 'puppet'), `#!/bin/sh\necho "$*" >> '${calls}'\n${body}\n`);
  chmodSync(join(bin, 'puppet'), 0o755);
  return { bin, calls };
}

function confdirWithConfig(): string {
  const confdir = tempDir('confdir');
  writeFileSync(join(confdir, 'autoami.yaml'), `state_dir: ${join(confdir, 'state')}\nsocket: ${join(confdir, 's.sock')}\n`);
  return confdir;
}

const missing = () => join(tempDir('nofallback'), 'autoami.yaml');

Path('should take --config, then a non-empty $AUTOAMI_CONFIG, without asking Puppet', async () => {
  const { bin, calls } = standInPuppet('exit 1');
  assert.is(await resolveConfigPath('/a.yaml', { AUTOAMI_CONFIG: '/b.yaml', PATH: bin }), '/a.yaml');
  assert.is(await resolveConfigPath(undefined, { AUTOAMI_CONFIG: '/b.yaml', PATH: bin }), '/b.yaml');
  await rejects(resolveConfigPath(undefined, { AUTOAMI_CONFIG: '', PATH: bin }, { fallback: missing() }));
  assert.is(readFileSync(calls, 'utf8'), 'config print confdir\n', 'only the empty AUTOAMI_CONFIG asked Puppet');
});

Path("should use autoami.yaml in the confdir `puppet config print confdir` prints", async () => {
  const confdir = confdirWithConfig();
  const { bin, calls } = standInPuppet(`echo 'Warning: noise on stderr' >&2\necho '${confdir}'`);
  assert.is(await resolveConfigPath(undefined, { PATH: `/nonexistent:${bin}` }, { fallback: missing() }), join(confdir, 'autoami.yaml'));
  assert.is(readFileSync(calls, 'utf8'), 'config print confdir\n');
});

Path('should fall back to /etc/puppetlabs/puppet/autoami.yaml when Puppet fails or its confdir has none, if it exists', async () => {
  const fallback = join(confdirWithConfig(), 'autoami.yaml');
  const failing = standInPuppet("echo 'Error: cannot load settings' >&2\nexit 1");
  assert.is(await resolveConfigPath(undefined, { PATH: failing.bin }, { fallback }), fallback);
  const empty = standInPuppet(`echo '${tempDir('emptyconf')}'`);
  assert.is(await resolveConfigPath(undefined, { PATH: empty.bin }, { fallback }), fallback);
  assert.is(await resolveConfigPath(undefined, { PATH: tempDir('nopuppet') }, { fallback }), fallback);
});

Path('should fail with one line naming what it tried', async () => {
  const fallback = missing();
  const failing = standInPuppet("echo 'Error: cannot load settings' >&2\nexit 1");
  const error = await rejects(resolveConfigPath(undefined, { PATH: failing.bin }, { fallback }));
  assert.not.match(error.message, '\n');
  assert.match(error.message, 'give --config FILE or set AUTOAMI_CONFIG');
  assert.match(error.message, `\`${join(failing.bin, 'puppet')} config print confdir\` (Error: cannot load settings)`);
  assert.match(error.message, `${fallback} (missing)`);
  const confdir = tempDir('emptyconf');
  const empty = standInPuppet(`echo '${confdir}'`);
  assert.match((await rejects(resolveConfigPath(undefined, { PATH: empty.bin }, { fallback }))).message, `${join(confdir, 'autoami.yaml')} (puppet's confdir; missing)`);
  assert.match((await rejects(resolveConfigPath(undefined, { PATH: tempDir('nopuppet') }, { fallback }))).message, '`puppet config print confdir` (no puppet on PATH)');
});

Path('should let `autoami migrate` find the config through Puppet', () => {
  const confdir = confdirWithConfig();
  mkdirSync(join(confdir, 'state'));
  const { bin } = standInPuppet(`echo '${confdir}'`);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  delete env.AUTOAMI_CONFIG;
  const run = spawnSync(process.execPath, [BIN, 'migrate'], { cwd: confdir, env, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stdout, 'schema up to date (embedded store)\n');
});

Path.run();
