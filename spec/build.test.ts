import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { faces } from '../runtime/interface/faces.ts';
import { AWS_TEST_ENV } from './support/aws-env.ts';
import { MODULE_DIR, requirePuppet } from './support/puppet.ts';
import { connect } from './support/rpc.ts';
import { tempDir } from './support/tmp.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const metadata = JSON.parse(readFileSync(join(ROOT, 'metadata.json'), 'utf8')) as { name: string; version: string };
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; engines: { node: string } };
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

/** `entry` and every chunk it imports statically, transitively: what loading it loads. */
function staticClosure(runtime: string, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(runtime, file), 'utf8');
    for (const [, chunk] of text.matchAll(/(?:from|import)\s*"\.\/(chunk-[A-Z0-9]+\.js)"/g)) visit(chunk!);
  };
  visit(entry);
  return [...seen];
}

Build('should hold the sidecar as a few bundled files, not a node_modules tree', ({ extracted }) => {
  const sidecar = join(extracted, SIDECAR);
  const files = walk(sidecar).sort();
  // Puppet checks every file of a recursive copy on every run, and warns past 1,000 entries.
  assert.ok(files.length < 60, `${files.length} files in files/sidecar: ${files.join(' ')}`);
  // esbuild's chunks: code the two bundles share, and code loaded on first use.
  const chunks = files.filter((path) => /^runtime\/chunk-[A-Z0-9]+\.js$/.test(path));
  assert.ok(chunks.length > 0, 'no chunks: the AWS SDK is inside cli.js, loaded at start');
  assert.equal(files.filter((path) => !chunks.includes(path)), [
    'THIRD-PARTY-NOTICES',
    'package.json',
    'runtime/autosign.js',
    'runtime/bin/autoami-autosign.js',
    'runtime/bin/autoami.js',
    'runtime/bin/node-version.js',
    'runtime/cli.js',
    'runtime/templates/bootstrap.sh.hbs',
  ]);
  assert.not.ok(existsSync(join(sidecar, 'node_modules')), 'node_modules shipped');
  assert.equal(files.filter((path) => /\.[cm]?ts$/.test(path)), [], 'TypeScript files in files/sidecar');
});

Build('should bundle everything but Node built-ins into ESM, and ship each file a bundle looks up beside itself', ({ extracted }) => {
  const runtime = join(extracted, SIDECAR, 'runtime');
  for (const bundle of readdirSync(runtime).filter((name) => name.endsWith('.js'))) {
    const text = readFileSync(join(runtime, bundle), 'utf8');
    const imports = [...text.matchAll(/^\s*import\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((match) => match[1]!);
    assert.ok(imports.length > 0, `${bundle} imports nothing: not an ESM bundle?`);
    assert.equal(imports.filter((specifier) => !isBuiltin(specifier) && !/^\.\/chunk-[A-Z0-9]+\.js$/.test(specifier)), [], `${bundle} imports packages`);
    assert.not.match(text, /from\s*['"]\.{1,2}\/[^'"]*\.ts['"]/, `${bundle} still imports .ts`);
    for (const [, rel] of text.matchAll(/new URL\(\s*["'`](\.{1,2}\/[^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)) {
      assert.ok(existsSync(resolve(runtime, rel!)), `${bundle} looks for ${rel}, which is not shipped`);
    }
  }
  // Puppet Server runs the autosign command for every CSR, and the sidecar starts before any
  // EC2 call: neither may load the AWS SDK up front (a dynamic import() is loaded on use).
  // Nor mysql2, which a sidecar on the embedded store never opens.
  const loadedOnUse: Record<string, RegExp> = { 'the AWS SDK': /node_modules\/@aws-sdk\//, mysql2: /node_modules\/mysql2\// };
  for (const entry of ['autosign.js', 'cli.js']) {
    for (const file of staticClosure(runtime, entry)) {
      const text = readFileSync(join(runtime, file), 'utf8');
      for (const [name, pattern] of Object.entries(loadedOnUse)) assert.not.match(text, pattern, `${entry} loads ${name} at start (through ${file})`);
    }
  }
  assert.ok(statSync(join(runtime, 'autosign.js')).size * 4 < statSync(join(runtime, 'cli.js')).size, 'the autosign bundle is not much smaller than the CLI');
});

Build('should ship no dependencies to install, and the licences of those bundled', ({ extracted }) => {
  const sidecar = join(extracted, SIDECAR);
  const manifest = JSON.parse(readFileSync(join(sidecar, 'package.json'), 'utf8')) as Record<string, any>;
  assert.is(manifest.type, 'module');
  assert.is(manifest.version, metadata.version);
  assert.equal(manifest.engines, rootPackage.engines);
  assert.is(manifest.dependencies, undefined);
  assert.not.ok(existsSync(join(sidecar, 'package-lock.json')));
  const notices = readFileSync(join(sidecar, 'THIRD-PARTY-NOTICES'), 'utf8');
  const { tsx: _tsx, ...runtimeDependencies } = rootPackage.dependencies;
  for (const dep of Object.keys(runtimeDependencies)) assert.match(notices, new RegExp(`^${dep.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}@\\d`, 'm'), `${dep} not in THIRD-PARTY-NOTICES`);
  for (const absent of ['tsx', 'esbuild', 'typescript', 'uvu', '@types/node']) assert.not.match(notices, new RegExp(`^${absent}@`, 'm'), `${absent} bundled`);
});

Build('should be plain ustar owned by 0:0 with dirs 0755, files 0644 and the bin 0755', ({ tarball, entries }) => {
  const tar = gunzipSync(readFileSync(tarball));
  assert.is(tar.subarray(257, 265).toString('latin1'), 'ustar\u000000', 'not POSIX ustar (Puppet’s minitar skips GNU/pax records)');
  for (const entry of entries) {
    assert.is(entry.owner, '0/0', entry.path);
    if (entry.path.endsWith('/')) assert.is(entry.mode, 'drwxr-xr-x', entry.path);
    else assert.ok(entry.mode === '-rw-r--r--' || entry.mode === '-rwxr-xr-x', `${entry.path} is ${entry.mode}`);
  }
  for (const bin of ['autoami.js', 'autoami-autosign.js']) {
    assert.is(entries.find((entry) => entry.path === `${SIDECAR}/runtime/bin/${bin}`)?.mode, '-rwxr-xr-x', bin);
  }
  assert.is(entries.find((entry) => entry.path === `${SIDECAR}/runtime/cli.js`)?.mode, '-rw-r--r--');
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

Build('should print the version and the usage from the extracted tarball with plain node, no tsx, no node_modules', ({ extracted }) => {
  const cwd = tempDir('run');
  const bin = join(extracted, SIDECAR, 'runtime', 'bin', 'autoami.js');
  const result = spawnSync(process.execPath, [bin, 'version'], { cwd, env: bareEnv(), encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout, `${metadata.version}\n`);
  const help = spawnSync(process.execPath, [bin, '--help'], { cwd, env: bareEnv(), encoding: 'utf8' });
  assert.is(help.status, 2, help.stderr);
  assert.match(help.stderr, /^usage: autoami serve \[--config FILE\]$/m);
  assert.not.match(help.stderr, /Error|at .*:\d+:\d+/);
});

Build('should refuse an older Node.js than engines.node, from the built launchers', ({ extracted }) => {
  const copy = join(tempDir('oldnode'), 'sidecar');
  cpSync(join(extracted, SIDECAR), copy, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as Record<string, any>;
  writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...manifest, engines: { node: '>=999' } }));
  for (const bin of ['autoami.js', 'autoami-autosign.js']) {
    const run = spawnSync(process.execPath, [join(copy, 'runtime', 'bin', bin), 'version'], { cwd: dirname(copy), env: bareEnv(), encoding: 'utf8', input: '' });
    assert.is(run.status, 1, bin);
    assert.is(run.stdout, '', bin);
    assert.is(run.stderr, `autoami: Node.js ${process.version} is too old: AutoAMI needs Node.js 999.0.0 or later (engines.node >=999)\n`, bin);
  }
});

Build('should run the autosign command from its own bundle, refusing when the sidecar cannot be asked', ({ extracted }) => {
  const dir = tempDir('autosign');
  const config = join(dir, 'autoami.yaml');
  writeFileSync(config, `socket: ${join(dir, 'none.sock')}\nstate_dir: ${dir}\n`);
  const run = spawnSync(process.execPath, [join(extracted, SIDECAR, 'runtime', 'bin', 'autoami-autosign.js'), 'web-i-0abc.autoami'], { cwd: dir, env: { ...bareEnv(), AUTOAMI_CONFIG: config }, input: '', encoding: 'utf8' });
  assert.is(run.status, 1, run.stderr);
  assert.match(run.stderr, `autoami autosign: not signing web-i-0abc.autoami: connect ENOENT ${join(dir, 'none.sock')}`);
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
  assert.is(statSync(join(installed, 'files/sidecar/runtime/bin/autoami-autosign.js')).mode & 0o777, 0o755);
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
