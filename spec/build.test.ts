import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { faces } from '../runtime/interface/faces.ts';
import { AWS_TEST_ENV } from './support/aws-env.ts';
import { MODULE_DIR, requirePuppet } from './support/puppet.ts';
import { connect } from './support/rpc.ts';
import { tempDir } from './support/tmp.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const metadata = JSON.parse(readFileSync(join(ROOT, 'metadata.json'), 'utf8')) as { name: string; version: string };
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const TOP = `${metadata.name}-${metadata.version}`;
const SIDECAR = join(TOP, 'files', 'sidecar');

interface Entry {
  mode: string;
  owner: string;
  path: string;
}

interface Context {
  tarball: string;
  /** `tar -tv` of the tarball. */
  entries: Entry[];
  /** Where the tarball was extracted, outside the repository. */
  extracted: string;
}

const Build = suite<Context>('module build');

/** Every file under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name), base) : [relative(base, join(dir, entry.name))],
  );
}

// Node without the repository: no tsx, no NODE_PATH, run from a directory with no node_modules above it.
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...AWS_TEST_ENV };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  return env;
}

const colour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** `puppet` against private dirs under `root`; stderr without the sandbox's Facter /proc/1/environ noise. */
function puppet(root: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const dirs = ['--modulepath', join(root, 'modules'), '--confdir', join(root, 'conf'), '--vardir', join(root, 'var'), '--codedir', join(root, 'code')];
  // The timeouts here only bound a hang: Puppet and the build take seconds, unless two busy cores slow them down.
  const result = spawnSync('puppet', [...args, ...dirs], { cwd: root, env: bareEnv(), encoding: 'utf8', timeout: 300_000 });
  const stderr = result.stderr
    .replace(colour, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !/\/proc\/1\/environ|Permission denied.*environ/.test(line))
    .join('\n');
  return { status: result.status, stdout: result.stdout.replace(colour, ''), stderr };
}

Build.before((context) => {
  const out = tempDir('build');
  const build = spawnSync('npm', ['run', '-s', 'build', '--', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.is(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
  context.tarball = join(out, `${TOP}.tar.gz`);
  const list = spawnSync('tar', ['-tvzf', context.tarball, '--numeric-owner'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.is(list.status, 0, list.stderr);
  context.entries = list.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [mode, owner, , , , ...path] = line.split(/\s+/);
      return { mode: mode!, owner: owner!, path: path.join(' ') };
    });
  context.extracted = tempDir('built');
  const extract = spawnSync('tar', ['-xzf', context.tarball, '-C', context.extracted], { encoding: 'utf8' });
  assert.is(extract.status, 0, extract.stderr);
});

Build('should write <name>-<version>.tar.gz from metadata.json', ({ tarball }) => {
  assert.ok(existsSync(tarball), `${tarball} missing`);
  assert.ok(statSync(tarball).size > 100_000, 'tarball suspiciously small');
});

Build('should hold one top directory with metadata.json naming ccaum-autoami at its version', ({ entries, extracted }) => {
  for (const entry of entries) assert.ok(entry.path === `${TOP}/` || entry.path.startsWith(`${TOP}/`), `${entry.path} outside ${TOP}/`);
  const shipped = JSON.parse(readFileSync(join(extracted, TOP, 'metadata.json'), 'utf8')) as { name: string; version: string };
  assert.is(shipped.name, 'ccaum-autoami');
  assert.is(shipped.version, metadata.version);
});

Build('should hold README.md and everything in module/', ({ extracted }) => {
  assert.ok(existsSync(join(extracted, TOP, 'README.md')));
  const moduleFiles = walk(MODULE_DIR).filter((path) => !path.split('/').some((part) => part.startsWith('.')));
  assert.ok(moduleFiles.includes('lib/puppet/face/autoami.rb'));
  for (const path of moduleFiles) assert.ok(existsSync(join(extracted, TOP, path)), `module/${path} not in the tarball`);
});

Build('should contain the compiled sidecar and no TypeScript', ({ extracted }) => {
  const sidecar = join(extracted, SIDECAR);
  assert.ok(existsSync(join(sidecar, 'runtime', 'cli.js')));
  assert.ok(existsSync(join(sidecar, 'runtime', 'bin', 'autoami.js')));
  assert.ok(existsSync(join(sidecar, 'runtime', 'bootstrap', 'templates', 'bootstrap.sh.hbs')));
  for (const source of walk(join(ROOT, 'runtime')).filter((path) => path.endsWith('.ts'))) {
    // A declaration file types a plain JavaScript file that is shipped as it is.
    assert.ok(existsSync(join(sidecar, 'runtime', source.replace(/(\.d)?\.ts$/, '.js'))), `runtime/${source} was not compiled`);
  }
  const files = walk(sidecar);
  assert.equal(files.filter((path) => /\.[cm]?ts$/.test(path)), [], 'TypeScript files in files/sidecar');
  for (const path of files.filter((each) => each.startsWith('runtime/') && each.endsWith('.js'))) {
    assert.not.match(readFileSync(join(sidecar, path), 'utf8'), /from\s*['"]\.{1,2}\/[^'"]*\.ts['"]/, `${path} still imports .ts`);
  }
});

Build('should ship only the runtime dependencies, without tsx', ({ extracted }) => {
  const sidecar = join(extracted, SIDECAR);
  const manifest = JSON.parse(readFileSync(join(sidecar, 'package.json'), 'utf8')) as Record<string, any>;
  assert.is(manifest.type, 'module');
  assert.is(manifest.version, metadata.version);
  const { tsx: _tsx, ...runtimeDependencies } = rootPackage.dependencies;
  assert.equal(manifest.dependencies, runtimeDependencies);
  for (const dep of Object.keys(runtimeDependencies)) assert.ok(existsSync(join(sidecar, 'node_modules', dep, 'package.json')), `${dep} missing`);
  for (const absent of ['tsx', 'esbuild', 'typescript', 'uvu', '@types/node', '.bin']) {
    assert.not.ok(existsSync(join(sidecar, 'node_modules', absent)), `node_modules/${absent} shipped`);
  }
});

Build('should be plain ustar owned by 0:0 with dirs 0755, files 0644 and the bin 0755', ({ tarball, entries }) => {
  const tar = gunzipSync(readFileSync(tarball));
  assert.is(tar.subarray(257, 265).toString('latin1'), 'ustar\u000000', 'not POSIX ustar (Puppet’s minitar skips GNU/pax records)');
  for (const entry of entries) {
    assert.is(entry.owner, '0/0', entry.path);
    if (entry.path.endsWith('/')) assert.is(entry.mode, 'drwxr-xr-x', entry.path);
    else assert.ok(entry.mode === '-rw-r--r--' || entry.mode === '-rwxr-xr-x', `${entry.path} is ${entry.mode}`);
  }
  const bin = entries.find((entry) => entry.path === `${SIDECAR}/runtime/bin/autoami.js`);
  assert.is(bin?.mode, '-rwxr-xr-x');
  // tar --sort=name: the entries of each directory appear in byte order of their names.
  const children = new Map<string, string[]>();
  for (const { path } of entries) {
    const trimmed = path.replace(/\/$/, '');
    const parent = trimmed.slice(0, trimmed.lastIndexOf('/') + 1);
    children.set(parent, [...(children.get(parent) ?? []), trimmed.slice(parent.length)]);
  }
  for (const [parent, names] of children) {
    assert.equal(names, [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), `${parent} not in name order`);
  }
  const text = tar.toString('latin1');
  assert.not.ok(text.includes(ROOT), 'the repository path leaked into the tarball');
  assert.not.ok(text.includes('autoami-build-'), 'the staging path leaked into the tarball');
});

Build('should print the version from the extracted tarball without tsx', ({ extracted }) => {
  const cwd = tempDir('run');
  const result = spawnSync(process.execPath, [join(extracted, SIDECAR, 'runtime', 'bin', 'autoami.js'), 'version'], { cwd, env: bareEnv(), encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout, `${metadata.version}\n`);
});

Build('should serve hello from the built sidecar and exit 0 on SIGTERM', async ({ extracted }) => {
  const dir = tempDir('srv');
  const socket = join(dir, 's.sock');
  const config = join(dir, 'autoami.yaml');
  writeFileSync(config, `socket: ${socket}\nstate_dir: ${join(dir, 'state')}\naws:\n  region: us-east-1\n  endpoint: http://127.0.0.1:1\n`);
  const child = spawn(process.execPath, [join(extracted, SIDECAR, 'runtime', 'bin', 'autoami.js'), 'serve', '--config', config], { cwd: dir, env: bareEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let client: Awaited<ReturnType<typeof connect>> | undefined;
    // Only bounds a hang: the built sidecar listens within a second or two, unless two busy cores slow it down.
    for (const deadline = Date.now() + 120_000; !client; ) {
      if (child.exitCode !== null) assert.unreachable(`the built sidecar exited with ${child.exitCode}: ${output}`);
      client = await connect(socket).catch(() => undefined);
      if (!client) {
        if (Date.now() > deadline) assert.unreachable(`the built sidecar never listened: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const reply = await client.call('hello', { protocol: 1, client: 'spec' });
    client.close();
    assert.equal(reply.result, { protocol: 1, server: 'autoami', version: metadata.version }, JSON.stringify(reply));
    child.kill('SIGTERM');
    assert.is(await exit, 0, output);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

Build('should install with puppet module install and offer its faces from the installed copy', ({ tarball }) => {
  requirePuppet();
  const root = tempDir('pmi');
  for (const dir of ['modules', 'conf', 'var', 'code']) mkdirSync(join(root, dir));
  const install = puppet(root, ['module', 'install', tarball, '--ignore-dependencies']);
  assert.is(install.status, 0, `${install.stdout}${install.stderr}`);
  const installed = join(root, 'modules', 'autoami');
  assert.ok(existsSync(join(installed, 'metadata.json')));
  assert.is(statSync(join(installed, 'files/sidecar/runtime/bin/autoami.js')).mode & 0o777, 0o755);
  const version = spawnSync(process.execPath, [join(installed, 'files/sidecar/runtime/bin/autoami.js'), 'version'], { cwd: root, env: bareEnv(), encoding: 'utf8' });
  assert.is(version.stdout, `${metadata.version}\n`, version.stderr);
  for (const face of faces) {
    const help = puppet(root, ['help', face.name]);
    assert.is(help.status, 0, help.stderr);
    for (const action of face.actions) assert.match(help.stdout, new RegExp(`^\\s+${action.name}\\s`, 'm'), `puppet help ${face.name} lacks ${action.name}`);
  }
  assert.ok(faces.some((face) => face.name === 'node_aws') && faces.some((face) => face.name === 'autoami'));
});

Build.run();
