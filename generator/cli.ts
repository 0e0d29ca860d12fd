/** `npm run generate [-- --out DIR]`: render module/ from the definitions. */
import { fileURLToPath } from 'node:url';
import { renderModule } from './render.ts';
import { writeModule } from './write.ts';

const outFlag = process.argv.indexOf('--out');
const out = outFlag === -1 ? fileURLToPath(new URL('../module/', import.meta.url)) : process.argv[outFlag + 1];
if (!out) {
  process.stderr.write('generate: --out needs a directory\n');
  process.exit(2);
}
const { written, removed } = await writeModule(out, renderModule());
for (const path of written) process.stdout.write(`wrote ${path}\n`);
for (const path of removed) process.stdout.write(`removed ${path}\n`);
