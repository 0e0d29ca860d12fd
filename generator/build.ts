/**
 * `npm run build [-- --out DIR]`: pkg/<owner>-<name>-<version>.tar.gz, the Puppet module
 * with the sidecar inside it as built JavaScript (DESIGN §2), so a master needs Node.js
 * but neither an npm registry nor tsx.
 *
 *   <owner>-<name>-<version>/
 *     metadata.json  README.md  [REFERENCE.md LICENSE CHANGELOG.md]
 *     <everything in module/>                lib/, manifests/, templates/, data/, ...
 *     files/sidecar/
 *       package.json  package-lock.json      the runtime dependencies only (no tsx)
 *       runtime/**.js                        tsc -p generator/tsconfig.build.json
 *       runtime/<non-TS assets>              bin/autoami.js, bootstrap/templates/*.hbs, ...
 *       node_modules/                        production closure, copied from ./node_modules
 *
 * The dependencies are copied from the repository's node_modules (which `npm ci` made from
 * package-lock.json) following the lockfile, so the build works offline and needs no
 * install step; a package whose installed version differs from the lockfile stops it.
 *
 * The archive is plain ustar (Puppet's minitar unpacker skips GNU long-name and pax
 * records), sorted by name, owned by 0:0, one mtime, dirs 0755 and files 0644 (0755 when
 * executable), gzip'd without a name or timestamp.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runtime dependencies of the repository that only the TypeScript sources need: tsx runs them in development. */
const DEVELOPMENT_ONLY = new Set(['tsx']);

/** Top-level files of the repository that belong in the module. */
const MODULE_DOCS = ['README.md', 'REFERENCE.md', 'LICENSE', 'CHANGELOG.md'];

export interface BuildResult {
  readonly tarball: string;
  readonly name: string;
  readonly version: string;
  readonly bytes: number;
  readonly files: number;
  readonly packages: number;
  readonly ms: number;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

class BuildError extends Error {}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

function fail(message: string): never {
  throw new BuildError(message);
}

/** The module's name and version from metadata.json; the sidecar carries the same version. */
export function moduleIdentity(root = ROOT): { name: string; version: string; base: string } {
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
  /** Drop directories left empty by `skip` (dist-types/ without its .d.ts files). */
  readonly pruneEmpty?: boolean;
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
      const copied = copyTree(from, to, options, entryRel);
      if (options.pruneEmpty && readdirSync(to).length === 0) rmSync(to, { recursive: true });
      files += copied;
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

/** Modes of a tree written by another tool (tsc): dirs 0755, files 0644. Returns the files. */
function normaliseTree(dir: string): number {
  chmodSync(dir, 0o755);
  let files = 0;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (lstatSync(path).isDirectory()) files += normaliseTree(path);
    else (normalise(path, false), files++);
  }
  return files;
}

const isDotEntry = (rel: string) => posix.basename(rel).startsWith('.');

/** Compiles runtime/**.ts with generator/tsconfig.build.json into `outDir` (relative imports `./x.ts` become `./x.js`). */
function compileRuntime(root: string, outDir: string): void {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'generator', 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) fail(`tsc -p generator/tsconfig.build.json failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
}

/** The lockfile paths (`node_modules/a`, `node_modules/a/node_modules/b`) `deps` need at run time, sorted. */
export function productionClosure(lock: Lockfile, deps: readonly string[]): string[] {
  if (lock.lockfileVersion < 2 || !lock.packages) fail('package-lock.json: lockfileVersion 2 or later is needed (npm 7+)');
  const found = new Set<string>();
  // Node's lookup: <from>/node_modules/<name>, then each ancestor package's node_modules, then the top.
  const locate = (from: string, name: string): string | undefined => {
    for (let base = from; ; ) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (base === '') return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut === -1 ? '' : base.slice(0, cut);
    }
  };
  const visit = (from: string, name: string, required: boolean): void => {
    const path = locate(from, name);
    if (path === undefined) {
      if (required) fail(`package-lock.json: ${name} (needed by ${from || 'the sidecar'}) is missing: run npm install`);
      return;
    }
    if (found.has(path)) return;
    const entry = lock.packages[path]!;
    if (entry.link) fail(`package-lock.json: ${path} is a link (workspace); the build copies real packages only`);
    found.add(path);
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) {
      // Type declarations are never loaded at run time (mysql2 names @types/node as a peer).
      if (dep.startsWith('@types/')) continue;
      visit(path, dep, entry.peerDependenciesMeta?.[dep]?.optional !== true);
    }
  };
  for (const dep of deps) visit('', dep, true);
  return [...found].sort();
}

/** TypeScript files and their maps in dependencies: Node 20 never loads them (mostly .d.ts). */
const typeScriptFile = (rel: string) => /\.(?:d\.)?[cm]?ts(?:\.map)?$/.test(rel);

/** Copies the closure from the installed node_modules, checking each against the lockfile; returns files copied. */
function copyDependencies(root: string, lock: Lockfile, paths: readonly string[], dest: string): number {
  let files = 0;
  for (const path of paths) {
    const source = join(root, path);
    const expected = lock.packages[path]!.version;
    if (!existsSync(join(source, 'package.json'))) {
      // npm skips optional packages that do not fit the platform; the sidecar does without them.
      if (lock.packages[path]!.optional) continue;
      fail(`${path} is not installed: run npm ci`);
    }
    const installed = readJson<{ version?: string }>(join(source, 'package.json')).version;
    if (expected !== undefined && installed !== expected) fail(`${path} is ${installed}, package-lock.json says ${expected}: run npm ci`);
    files += copyTree(source, join(dest, path), {
      // Nested node_modules/ are lockfile entries of their own, copied only when needed.
      skip: (rel, isDirectory) => (isDirectory ? rel === 'node_modules' || posix.basename(rel) === '.bin' : typeScriptFile(rel)),
      pruneEmpty: true,
    });
  }
  return files;
}

/** Every bare import of the compiled sidecar must be a Node built-in or one of its dependencies. */
function checkImports(runtimeDir: string, deps: ReadonlySet<string>): void {
  // import/export ... from 'x' (tsc puts each declaration at a line start), import 'x', import('x').
  const patterns = [/^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.[cm]?js$/.test(entry) && !path.endsWith(join('bin', 'autoami.js'))) {
        const text = readFileSync(path, 'utf8');
        for (const [, specifier] of patterns.flatMap((pattern) => [...text.matchAll(pattern)])) {
          if (isBuiltin(specifier!) || specifier!.startsWith('.') || specifier!.startsWith('/')) continue;
          const name = specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!;
          if (!deps.has(name)) fail(`runtime/${relative(runtimeDir, path)} imports ${JSON.stringify(specifier)}, which is not a sidecar dependency`);
        }
      }
    }
  };
  walk(runtimeDir);
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

    // 2. The sidecar: compiled runtime, its assets, package.json.
    const sidecar = join(top, 'files', 'sidecar');
    mkdirSync(join(top, 'files'), { recursive: true });
    chmodSync(join(top, 'files'), 0o755);
    const runtimeOut = join(sidecar, 'runtime');
    compileRuntime(root, runtimeOut);
    const compiled = normaliseTree(runtimeOut);
    const assets = copyTree(join(root, 'runtime'), runtimeOut, {
      skip: (rel, isDirectory) => isDotEntry(rel) || (!isDirectory && /\.[cm]?ts$/.test(rel)),
      executable: (rel, mode) => rel.startsWith('bin/') || (mode & 0o111) !== 0,
    });
    if (!existsSync(join(runtimeOut, 'cli.js'))) fail('tsc produced no runtime/cli.js');
    files += compiled + assets;
    log(`sidecar: ${compiled} compiled files, ${assets} assets`);

    const dependencies = Object.fromEntries(Object.entries((pkg.dependencies ?? {}) as Record<string, string>).filter(([dep]) => !DEVELOPMENT_ONLY.has(dep)));
    const manifest = {
      name: pkg.name,
      version,
      private: true,
      description: pkg.description,
      license: pkg.license,
      type: 'module',
      engines: pkg.engines,
      bin: { autoami: 'runtime/bin/autoami.js' },
      dependencies,
    };
    writeFileSync(join(sidecar, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    checkImports(runtimeOut, new Set(Object.keys(dependencies)));

    // 3. Its production dependencies, and the lockfile slice that says which they are.
    const closure = productionClosure(lock, Object.keys(dependencies));
    const sliced = {
      name: pkg.name,
      version,
      lockfileVersion: lock.lockfileVersion,
      requires: true,
      packages: {
        '': { name: pkg.name, version, license: pkg.license, dependencies, bin: manifest.bin, engines: pkg.engines },
        ...Object.fromEntries(closure.map((path) => [path, lock.packages[path]!])),
      },
    };
    writeFileSync(join(sidecar, 'package-lock.json'), `${JSON.stringify(sliced, null, 2)}\n`, { mode: 0o644 });
    files += 2;
    const depFiles = copyDependencies(root, lock, closure, sidecar);
    files += depFiles;
    log(`node_modules: ${closure.length} packages, ${depFiles} files`);

    // 4. The archive.
    mkdirSync(outDir, { recursive: true });
    const tarball = join(outDir, `${base}.tar.gz`);
    await writeTarball(stage, base, tarball, archiveTime(root));
    const bytes = statSync(tarball).size;
    const ms = Date.now() - started;
    log(`built ${tarball} (${(bytes / 1024 / 1024).toFixed(1)} MiB, ${files} files) in ${(ms / 1000).toFixed(1)} s`);
    return { tarball, name, version, bytes, files, packages: closure.length, ms };
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
