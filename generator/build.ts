/**
 * `npm run build [-- --out DIR]`: pkg/<owner>-<name>-<version>.tar.gz, the Puppet module
 * with the sidecar inside it as bundled JavaScript, so a master needs Node.js
 * but neither an npm registry nor tsx, and Puppet copies a handful of files, not thousands.
 *
 *   <owner>-<name>-<version>/
 *     metadata.json  README.md  [REFERENCE.md LICENSE CHANGELOG.md]
 *     <everything in module/>                lib/, manifests/, templates/, data/, types/, ...
 *     files/sidecar/
 *       package.json                         name, version, type: module, engines (no dependencies)
 *       THIRD-PARTY-NOTICES                  licences of the packages bundled into the two below
 *       runtime/cli.js                       esbuild bundle of runtime/cli.ts (`autoami`)
 *       runtime/autosign.js                  esbuild bundle of runtime/bin/autosign-main.ts
 *       runtime/chunk-<hash>.js              code the two share, and code loaded on first use
 *                                              (the AWS SDK, prom-client, mysql2), split out by esbuild
 *       runtime/bin/autoami.js               entry points as they are: plain JavaScript that checks
 *       runtime/bin/autoami-autosign.js        engines.node (node-version.js) before it imports a
 *       runtime/bin/node-version.js            bundle, so an older Node.js gets one clear line
 *       runtime/templates/bootstrap.sh.hbs   assets, where the bundles look for them (below)
 *
 * The bundles are ESM for Node (target: the engines.node minimum), with every dependency
 * inside them; CommonJS dependencies (mysql2) get `require` from a createRequire banner. A
 * module that finds a file with `new URL('<relative>', import.meta.url)` finds it relative
 * to the bundle (runtime/), not to its source: runtime/bootstrap/script.ts's
 * `./templates/bootstrap.sh.hbs` becomes runtime/templates/, version.ts's `../package.json`
 * stays files/sidecar/package.json. ASSETS copies them there, and the build fails if a
 * bundle names such a file that is not in files/sidecar.
 *
 * The archive is plain ustar (Puppet's minitar unpacker skips GNU long-name and pax
 * records), sorted by name, owned by 0:0, one mtime, dirs 0755 and files 0644 (0755 when
 * executable), gzip'd without a name or timestamp.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { minimumNode } from '../runtime/bin/node-version.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Top-level files of the repository that belong in the module. */
const MODULE_DOCS = ['README.md', 'REFERENCE.md', 'LICENSE', 'CHANGELOG.md'];

/** The sidecar's entry points: bundle name (runtime/<name>.js) → source. */
const BUNDLES: Readonly<Record<string, string>> = {
  cli: 'runtime/cli.ts',
  autosign: 'runtime/bin/autosign-main.ts',
};

/** The launchers, shipped as they are (plain JavaScript); the first two are executables. */
const LAUNCHERS = ['autoami.js', 'autoami-autosign.js', 'node-version.js'];
const EXECUTABLES = new Set(['autoami.js', 'autoami-autosign.js']);

/**
 * Files the runtime reads at run time, copied from the repository (`from`) to where the
 * bundles look for them in files/sidecar (`to`): bootstrap/script.ts finds its template at
 * `new URL('./templates/bootstrap.sh.hbs', import.meta.url)`, which in runtime/cli.js is
 * runtime/templates/.
 */
const ASSETS: readonly { from: string; to: string }[] = [{ from: 'runtime/bootstrap/templates', to: 'runtime/templates' }];

/**
 * Bundles are ESM, but CommonJS dependencies (mysql2, handlebars) call `require` for Node's
 * built-ins; esbuild's shim throws without a real one.
 */
const REQUIRE_BANNER = "import { createRequire as __autoamiCreateRequire } from 'node:module';\nconst require = __autoamiCreateRequire(import.meta.url);";

export interface BuildResult {
  readonly tarball: string;
  readonly name: string;
  readonly version: string;
  readonly bytes: number;
  readonly files: number;
  /** Files under files/sidecar. */
  readonly sidecarFiles: number;
  /** npm packages bundled into the sidecar. */
  readonly packages: number;
  readonly ms: number;
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, { version?: string }>;
}

class BuildError extends Error {}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

function fail(message: string): never {
  throw new BuildError(message);
}

/** The module's name and version from metadata.json; the sidecar carries the same version. */
function moduleIdentity(root = ROOT): { name: string; version: string; base: string } {
  const metadata = readJson<{ name?: unknown; version?: unknown }>(join(root, 'metadata.json'));
  const pkg = readJson<{ version?: unknown }>(join(root, 'package.json'));
  if (typeof metadata.name !== 'string' || !/^[a-z0-9]+[-/][a-z][a-z0-9_]*$/.test(metadata.name)) fail(`metadata.json: name ${JSON.stringify(metadata.name)} is not owner-name`);
  if (typeof metadata.version !== 'string' || !/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(metadata.version)) fail(`metadata.json: version ${JSON.stringify(metadata.version)} is not semver`);
  if (pkg.version !== metadata.version) fail(`package.json version ${JSON.stringify(pkg.version)} differs from metadata.json version ${JSON.stringify(metadata.version)}: the module and the sidecar share one version`);
  const name = metadata.name.replace('/', '-');
  return { name, version: metadata.version, base: `${name}-${metadata.version}` };
}

/** 0755 for directories and executables, 0644 for the rest. */
function normalise(path: string, executable: boolean): void {
  chmodSync(path, executable ? 0o755 : 0o644);
}

interface CopyOptions {
  /** `rel` is relative to the tree being copied, with `/` separators. */
  readonly skip?: (rel: string, isDirectory: boolean) => boolean;
  readonly executable?: (rel: string, sourceMode: number) => boolean;
}

/** Copies a tree in name order; refuses symlinks and special files (Puppet refuses modules holding them). Returns the files copied. */
function copyTree(source: string, dest: string, options: CopyOptions = {}, rel = ''): number {
  mkdirSync(dest, { recursive: true });
  chmodSync(dest, 0o755);
  let files = 0;
  for (const entry of readdirSync(source).sort()) {
    const from = join(source, entry);
    const to = join(dest, entry);
    const entryRel = rel === '' ? entry : `${rel}/${entry}`;
    const stat = lstatSync(from);
    if (options.skip?.(entryRel, stat.isDirectory())) continue;
    if (stat.isSymbolicLink()) fail(`${from} is a symlink: a Puppet module may not hold one`);
    if (stat.isDirectory()) {
      files += copyTree(from, to, options, entryRel);
    } else if (stat.isFile()) {
      copyFileSync(from, to);
      normalise(to, options.executable ? options.executable(entryRel, stat.mode) : (stat.mode & 0o111) !== 0);
      files++;
    } else {
      fail(`${from} is neither a file nor a directory`);
    }
  }
  return files;
}

const isDotEntry = (rel: string) => posix.basename(rel).startsWith('.');

/** The package directory (`node_modules/a`, `node_modules/a/node_modules/@b/c`) an esbuild input path is in, if any. */
function packageDirOf(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/@][^/]*)\//.exec(input.replace(/\\/g, '/'));
  return match?.[1];
}

interface Bundled {
  /** Package directories, relative to the root, whose code is in a bundle, sorted. */
  readonly packages: string[];
}

/** esbuild: runtime/<name>.js for each of BUNDLES, everything but Node's built-ins inside. */
async function bundleSidecar(root: string, runtimeOut: string, engines: string | undefined): Promise<Bundled> {
  const esbuild = await import('esbuild');
  const target = `node${minimumNode(engines).join('.')}`;
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: Object.entries(BUNDLES).map(([out, entry]) => ({ in: entry, out })),
      outdir: runtimeOut,
      bundle: true,
      platform: 'node',
      format: 'esm',
      // What the sidecar loads only when used (the AWS SDK on the first EC2 call, prom-client
      // with metrics on, mysql2 when a MySQL store opens) goes into chunks of its own: in one
      // bundle V8 would hold all of it from the start, which costs a master tens of MB it may
      // never need.
      splitting: true,
      chunkNames: 'chunk-[hash]',
      // The ES module builds of packages that ship both (the AWS SDK): a chunk made from a
      // CommonJS build exports only `default`, so `await import()` would find no commands.
      mainFields: ['module', 'main'],
      target,
      banner: { js: REQUIRE_BANNER },
      // Error classes name themselves after their class (new.target.name): keep the names.
      keepNames: true,
      legalComments: 'eof',
      // Escaped, not raw: V8 keeps a script's source for the life of the process, and one
      // character past U+00FF (iconv-lite's CJK tables in mysql2, a `…` in a message) makes it
      // store the whole file at two bytes a character. That came to ~1 MB more live heap, and
      // after its first full collection V8 lets the heap grow to four times what was live.
      charset: 'ascii',
      metafile: true,
      logLevel: 'silent',
    });
  } catch (error) {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    fail(`esbuild failed:\n${errors.map((each) => `  ${each.location ? `${each.location.file}:${each.location.line}: ` : ''}${each.text}`).join('\n') || String(error)}`);
  }
  const warnings = result.warnings.map((each) => `${each.location ? `${each.location.file}:${each.location.line}: ` : ''}${each.text}`);
  if (warnings.length > 0) fail(`esbuild warned (a bundle that may misbehave at run time):\n  ${warnings.join('\n  ')}`);
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    for (const imported of meta.imports) {
      // Everything is bundled; only Node's own modules stay imports.
      if (imported.external && !isBuiltin(imported.path)) fail(`${output} imports ${JSON.stringify(imported.path)}, which is neither bundled nor a Node built-in`);
    }
  }
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const dir = packageDirOf(input);
    if (dir) packages.add(dir);
  }
  return { packages: [...packages].sort() };
}

/** Each bundled package must be what package-lock.json says (npm ci made node_modules from it). */
function checkLocked(root: string, lock: Lockfile, packages: readonly string[]): void {
  if (lock.lockfileVersion < 2 || !lock.packages) fail('package-lock.json: lockfileVersion 2 or later is needed (npm 7+)');
  for (const dir of packages) {
    const entry = lock.packages[dir];
    if (!entry) fail(`${dir} is bundled but not in package-lock.json: run npm ci`);
    const installed = readJson<{ version?: string }>(join(root, dir, 'package.json')).version;
    if (entry.version !== undefined && installed !== entry.version) fail(`${dir} is ${installed}, package-lock.json says ${entry.version}: run npm ci`);
  }
}

const LICENCE_FILE = /^(?:licen[cs]e|copying|notice)(?:[-._].*)?$/i;

/**
 * THIRD-PARTY-NOTICES: each bundled package with its licence, in name order, then the
 * licence files they ship, each distinct text once.
 */
function thirdPartyNotices(root: string, packages: readonly string[]): string {
  const listed = new Map<string, string>();
  const texts = new Map<string, { index: number; from: string[] }>();
  const named = packages
    .map((dir) => ({ dir, pkg: readJson<{ name?: string; version?: string; license?: unknown }>(join(root, dir, 'package.json')) }))
    .sort((a, b) => `${a.pkg.name}@${a.pkg.version}`.localeCompare(`${b.pkg.name}@${b.pkg.version}`));
  for (const { dir, pkg } of named) {
    const id = `${pkg.name}@${pkg.version}`;
    if (listed.has(id)) continue;
    const licence = typeof pkg.license === 'string' ? pkg.license : JSON.stringify(pkg.license ?? 'UNKNOWN');
    const refs: number[] = [];
    for (const file of readdirSync(join(root, dir)).filter((each) => LICENCE_FILE.test(each) && statSync(join(root, dir, each)).isFile()).sort()) {
      const text = readFileSync(join(root, dir, file), 'utf8').trimEnd();
      const known = texts.get(text) ?? { index: texts.size + 1, from: [] };
      known.from.push(`${id} ${file}`);
      texts.set(text, known);
      refs.push(known.index);
    }
    listed.set(id, `${id}  ${licence}  ${refs.length > 0 ? refs.map((ref) => `[${ref}]`).join(' ') : '(no licence file in the package)'}`);
  }
  const bodies = [...texts].map(([text, { index, from }]) => `[${index}] ${from.join(', ')}\n\n${text}\n`);
  return `The AutoAMI sidecar (runtime/cli.js, runtime/autosign.js) bundles these npm packages:\n\n${[...listed.values()].join('\n')}\n\nThe licence files they ship, each text once:\n\n${bodies.join('\n')}`;
}

/** The entry bundles and their chunks: every .js esbuild wrote to runtime/. */
function bundleFiles(runtimeOut: string): string[] {
  return readdirSync(runtimeOut).filter((name) => name.endsWith('.js')).sort();
}

/** Every `new URL('<relative>', import.meta.url)` in a bundle must name a file shipped in files/sidecar. */
function checkAssetReferences(runtimeOut: string, sidecar: string): void {
  for (const file of bundleFiles(runtimeOut)) {
    const name = file.replace(/\.js$/, '');
    const bundle = join(runtimeOut, file);
    const text = readFileSync(bundle, 'utf8');
    for (const [, rel] of text.matchAll(/new URL\(\s*["'`](\.{1,2}\/[^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)) {
      const target = resolve(dirname(bundle), rel!);
      if (!target.startsWith(`${sidecar}/`) || !existsSync(target)) {
        fail(`runtime/${name}.js looks for ${JSON.stringify(rel)} beside itself, which is not in files/sidecar: add it to ASSETS in generator/build.ts`);
      }
    }
  }
}

/** Files under `dir`, recursively. */
function countFiles(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => sum + (entry.isDirectory() ? countFiles(join(dir, entry.name)) : 1), 0);
}

/** SOURCE_DATE_EPOCH, else the last commit's time, else now: every entry of the archive gets it. */
function archiveTime(root: string): number {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (process.env.SOURCE_DATE_EPOCH && Number.isInteger(fromEnv) && fromEnv >= 0) return fromEnv;
  const git = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' });
  const committed = Number(git.stdout?.trim());
  if (git.status === 0 && Number.isInteger(committed) && committed > 0) return committed;
  return Math.floor(Date.now() / 1000);
}

/** tar (ustar, sorted, 0:0) of `stage/<top>` piped through gzip to `outFile`. */
async function writeTarball(stage: string, top: string, outFile: string, mtime: number): Promise<void> {
  const argv = ['--create', '--format=ustar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '--file=-', top];
  const tar = spawn('tar', argv, { cwd: stage, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((done, reject) => {
    tar.once('error', reject);
    tar.once('close', done);
  });
  const partial = `${outFile}.partial`;
  try {
    await pipeline(tar.stdout, createGzip({ level: 9 }), createWriteStream(partial, { mode: 0o644 }));
    const status = await exited;
    if (status !== 0) fail(`tar ${argv.join(' ')} failed (${status}): ${stderr.trim()}`);
    renameSync(partial, outFile);
  } finally {
    rmSync(partial, { force: true });
  }
}

export async function build(options: { root?: string; outDir?: string; log?: (line: string) => void } = {}): Promise<BuildResult> {
  const started = Date.now();
  const root = resolve(options.root ?? ROOT);
  const outDir = resolve(options.outDir ?? join(root, 'pkg'));
  const log = options.log ?? (() => {});
  const { name, version, base } = moduleIdentity(root);
  const pkg = readJson<Record<string, any>>(join(root, 'package.json'));
  const lock = readJson<Lockfile>(join(root, 'package-lock.json'));

  const stage = mkdtempSync(join(tmpdir(), 'autoami-build-'));
  try {
    const top = join(stage, base);
    mkdirSync(top);
    chmodSync(top, 0o755);
    let files = 0;

    // 1. The module: metadata, docs, module/.
    for (const doc of ['metadata.json', ...MODULE_DOCS]) {
      if (!existsSync(join(root, doc))) continue;
      copyFileSync(join(root, doc), join(top, doc));
      normalise(join(top, doc), false);
      files++;
    }
    const moduleDir = join(root, 'module');
    if (!existsSync(join(moduleDir, 'lib'))) fail('module/lib is missing: run npm run generate');
    if (existsSync(join(moduleDir, 'files', 'sidecar'))) fail('module/files/sidecar exists: the build owns that directory');
    files += copyTree(moduleDir, top, { skip: (rel) => isDotEntry(rel) || (rel === 'metadata.json') });
    log(`module: ${files} files from module/ and the top level`);

    // 2. The sidecar: two bundles, the launchers, the assets, package.json, the notices.
    const sidecar = join(top, 'files', 'sidecar');
    const runtimeOut = join(sidecar, 'runtime');
    mkdirSync(join(runtimeOut, 'bin'), { recursive: true });
    for (const dir of [join(top, 'files'), sidecar, runtimeOut, join(runtimeOut, 'bin')]) chmodSync(dir, 0o755);
    const bundled = await bundleSidecar(root, runtimeOut, pkg.engines?.node);
    checkLocked(root, lock, bundled.packages);
    for (const name of bundleFiles(runtimeOut)) normalise(join(runtimeOut, name), false);
    for (const launcher of LAUNCHERS) {
      copyFileSync(join(root, 'runtime', 'bin', launcher), join(runtimeOut, 'bin', launcher));
      normalise(join(runtimeOut, 'bin', launcher), EXECUTABLES.has(launcher));
    }
    for (const asset of ASSETS) copyTree(join(root, asset.from), join(sidecar, asset.to), { skip: (rel) => isDotEntry(rel) });
    const manifest = {
      name: pkg.name,
      version,
      private: true,
      description: pkg.description,
      license: pkg.license,
      type: 'module',
      engines: pkg.engines,
      bin: { autoami: 'runtime/bin/autoami.js' },
    };
    writeFileSync(join(sidecar, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    writeFileSync(join(sidecar, 'THIRD-PARTY-NOTICES'), thirdPartyNotices(root, bundled.packages), { mode: 0o644 });
    if (existsSync(join(root, 'LICENSE'))) {
      copyFileSync(join(root, 'LICENSE'), join(sidecar, 'LICENSE'));
      normalise(join(sidecar, 'LICENSE'), false);
    }
    checkAssetReferences(runtimeOut, sidecar);
    const sidecarFiles = countFiles(sidecar);
    files += sidecarFiles;
    log(`sidecar: ${sidecarFiles} files, ${Object.keys(BUNDLES).length} bundles of ${bundled.packages.length} npm packages`);

    // 4. The archive.
    mkdirSync(outDir, { recursive: true });
    const tarball = join(outDir, `${base}.tar.gz`);
    await writeTarball(stage, base, tarball, archiveTime(root));
    const bytes = statSync(tarball).size;
    const ms = Date.now() - started;
    log(`built ${tarball} (${(bytes / 1024 / 1024).toFixed(1)} MiB, ${files} files) in ${(ms / 1000).toFixed(1)} s`);
    return { tarball, name, version, bytes, files, sidecarFiles, packages: bundled.packages.length, ms };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outFlag = process.argv.indexOf('--out');
  const outDir = outFlag === -1 ? undefined : process.argv[outFlag + 1];
  if (outFlag !== -1 && !outDir) {
    process.stderr.write('build: --out needs a directory\n');
    process.exit(2);
  }
  try {
    const result = await build({ outDir, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`${result.tarball}\n`);
  } catch (error) {
    process.stderr.write(`build: ${error instanceof BuildError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}
