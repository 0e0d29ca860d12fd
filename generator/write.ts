/**
 * Writes rendered files under a module directory and removes generated files that the
 * definitions no longer produce, so a renamed face leaves nothing behind.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { GENERATED_MARKER, type RenderedFile } from './render.ts';

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]))),
  );
  return nested.flat();
}

/** Generated files present under `dir`, as paths relative to it. */
export async function generatedFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const file of await walk(dir)) {
    const head = (await readFile(file, 'utf8')).slice(0, 400);
    if (head.includes(GENERATED_MARKER)) found.push(relative(dir, file));
  }
  return found.sort();
}

export async function writeModule(dir: string, files: readonly RenderedFile[]): Promise<{ written: string[]; removed: string[] }> {
  const wanted = new Set(files.map((file) => file.path));
  const removed = (await generatedFiles(dir)).filter((path) => !wanted.has(path));
  for (const path of removed) await rm(join(dir, path));
  for (const file of files) {
    const target = join(dir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  return { written: files.map((file) => file.path), removed };
}
