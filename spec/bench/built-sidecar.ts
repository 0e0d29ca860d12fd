/**
 * The sidecar as a master runs it: the runtime compiled to JavaScript with the build's own
 * tsconfig (generator/tsconfig.build.json, as `npm run build` does), its non-TypeScript
 * assets beside it, started with plain `node` and no tsx. Made once per bench process in
 * a temp dir whose node_modules links to the repository's.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/tmp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let built: string | undefined;

function copyAssets(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyAssets(join(from, entry.name), join(to, entry.name));
    else if (!/\.[cm]?ts$/.test(entry.name)) {
      mkdirSync(to, { recursive: true });
      copyFileSync(join(from, entry.name), join(to, entry.name));
    }
  }
}

/** Path of the built `autoami` bin. */
export function builtSidecar(): string {
  if (built) return built;
  const dir = tempDir('bench-sidecar');
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const out = join(dir, 'runtime');
  const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'generator', 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`compiling the runtime failed:\n${result.stdout}${result.stderr}`);
  copyAssets(join(ROOT, 'runtime'), out);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  built = join(out, 'bin', 'autoami.js');
  return built;
}

/** The node flags of the systemd unit's ExecStart, read from its template: one source for both. */
export function serviceNodeFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'module', 'templates', 'autoami.service.epp'), 'utf8');
  const match = /^ExecStart=<%= \$node_binary %>((?: --[^\s<]+)*) <%= \$install_dir %>/m.exec(unit);
  if (!match) throw new Error('module/templates/autoami.service.epp: no ExecStart line of the expected shape');
  return match[1]!.trim().split(/\s+/).filter(Boolean);
}
