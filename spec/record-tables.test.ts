/**
 * The record tables are complete by construction: a copy of runtime/ with one field's
 * entry removed from a table, or a group.create param added without one, fails the
 * project's own type check, naming that field. The unchanged copy passes, so the failures
 * are the edit's.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/tmp.ts';

const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

/** runtime/ as it is, with the project's compiler options, and `edit` applied to one file. */
function typecheck(edit?: { file: string; change: (text: string) => string }): { ok: boolean; output: string } {
  const dir = tempDir('rt');
  cpSync(join(ROOT, 'runtime'), join(dir, 'runtime'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const project = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...project, include: ['runtime'] }));
  if (edit) {
    const path = join(dir, 'runtime', edit.file);
    const before = readFileSync(path, 'utf8');
    const after = edit.change(before);
    assert.is.not(after, before, `the edit changed nothing in ${edit.file}`);
    writeFileSync(path, after);
  }
  const run = spawnSync(TSC, ['-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Removes the one line that is `field`'s entry in a table. */
const withoutEntry = (field: string) => (text: string): string => {
  const entry = new RegExp(`^ +${field}: (?:column|field)\\(.*\\n`, 'm');
  assert.match(text, entry, `no entry for ${field}`);
  return text.replace(entry, '');
};

const Tables = suite('record tables');

Tables('should type-check the unchanged copy of runtime/', () => {
  const result = typecheck();
  assert.ok(result.ok, result.output);
});

for (const [file, field] of [
  ['store/group-table.ts', 'keep_failed'],
  ['store/bake-table.ts', 'lease_expires'],
  ['store/bake-table.ts', 'failed_to_restart'],
  ['store/group-table.ts', 'copy_to'],
  ['store/bake-table.ts', 'distribution'],
  ['store/bake-table.ts', 'step'],
  ['store/image-table.ts', 'retention_note'],
  ['store/group-table.ts', 'ssm_parameter'],
  ['store/publication-table.ts', 'progress'],
  ['store/publication-table.ts', 'refresh_id'],
  ['store/facts-table.ts', 'facts'],
  ['store/facts-table.ts', 'environment'],
  ['store/bake-table.ts', 'check'],
  ['store/group-table.ts', 'catalog_hash'],
  ['store/image-table.ts', 'catalog_hash'],
  ['store/catalog-table.ts', 'catalog'],
  ['store/catalog-table.ts', 'compile_ms'],
  ['store/catalog-table.ts', 'edgesChanged'],
] as const) {
  Tables(`should fail the type check, naming ${field}, when ${file} lacks its entry`, () => {
    const result = typecheck({ file, change: withoutEntry(field) });
    assert.not.ok(result.ok, `passed without ${field}`);
    assert.match(result.output, `'${field}'`);
    assert.match(result.output, file);
  });
}

Tables('should fail the type check, naming it, when group.create gains a param the group table lacks', () => {
  const result = typecheck({
    file: 'interface/methods.ts',
    change: (text) => text.replace(/(const groupCreate = \{[^]*?params: \{\n)/, "$1    colour: { type: 'string', summary: 'A new setting' },\n"),
  });
  assert.not.ok(result.ok, 'passed with a setting the table lacks');
  assert.match(result.output, "'colour'");
  assert.match(result.output, 'store/group-table.ts');
});

Tables.run();
