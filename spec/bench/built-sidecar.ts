/**
 * The sidecar as a master runs it: the module tarball `npm run build` makes, unpacked, and
 * its bundled entry point (files/sidecar/runtime/bin/autoami.js) started with plain `node`:
 * no tsx, no node_modules. Made once per bench process in a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/tmp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let built: string | undefined;

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

/** Path of the built `autoami` bin. */
export function builtSidecar(): string {
  if (built) return built;
  const dir = tempDir('bench-sidecar');
  run(process.execPath, ['--import', 'tsx', join(ROOT, 'generator', 'build.ts'), '--out', dir], ROOT);
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tar.gz'));
  if (!tarball) throw new Error(`npm run build left no tarball in ${dir}`);
  run('tar', ['-xzf', tarball], dir);
  built = join(dir, tarball.replace(/\.tar\.gz$/, ''), 'files', 'sidecar', 'runtime', 'bin', 'autoami.js');
  return built;
}

/** The node flags of the systemd unit's ExecStart, read from its template: one source for both. */
export function serviceNodeFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'module', 'templates', 'autoami.service.epp'), 'utf8');
  const match = /^ExecStart=<%= \$node_binary %>((?: --[^\s<]+)*) <%= \$install_dir %>/m.exec(unit);
  if (!match) throw new Error('module/templates/autoami.service.epp: no ExecStart line of the expected shape');
  return match[1]!.trim().split(/\s+/).filter(Boolean);
}
