import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minimumNode, nodeVersionProblem } from '../runtime/bin/node-version.js';
import { nodeRelease } from './node-release.ts';
import { rejects } from './support/rejects.ts';
import { tempDir } from './support/tmp.ts';

const BIN = fileURLToPath(new URL('../runtime/bin/', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

const Check = suite('node version');

Check('should read the oldest version from engines.node', () => {
  assert.equal(minimumNode('>=20'), [20, 0, 0]);
  assert.equal(minimumNode('>= 20.19.1'), [20, 19, 1]);
  assert.throws(() => minimumNode('^20'), /engines.node "\^20"/);
});

Check('should refuse an older Node with the version found and the one needed', () => {
  assert.is(nodeVersionProblem('v18.19.0', '>=20'), 'autoami: Node.js v18.19.0 is too old: AutoAMI needs Node.js 20.0.0 or later (engines.node >=20)');
  assert.is(nodeVersionProblem('v20.9.0', '>=20.10'), 'autoami: Node.js v20.9.0 is too old: AutoAMI needs Node.js 20.10.0 or later (engines.node >=20.10)');
  for (const found of ['v20.0.0', 'v20.20.2', 'v22.1.0', 'v24.0.0']) assert.is(nodeVersionProblem(found, '>=20'), null, found);
});

Check('should let the suite ask for no Node older than engines.node', async () => {
  const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const oldest = minimumNode(engines)[0];
  const error = await rejects(nodeRelease(String(oldest - 1)));
  assert.is(error.message, `--node "${oldest - 1}": give a Node.js major number, ${oldest} or later`);
});

Check('should stop the sidecar command before it loads anything', () => {
  // The real entry point beside a package.json whose engines.node this Node cannot meet.
  const root = tempDir('nodever');
  mkdirSync(join(root, 'runtime', 'bin'), { recursive: true });
  for (const file of ['autoami.js', 'node-version.js']) copyFileSync(join(BIN, file), join(root, 'runtime', 'bin', file));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', engines: { node: '>=999' } }));
  const run = spawnSync(process.execPath, [join(root, 'runtime', 'bin', 'autoami.js'), 'version'], { encoding: 'utf8' });
  assert.is(run.status, 1);
  assert.is(run.stdout, '');
  assert.is(run.stderr, `autoami: Node.js ${process.version} is too old: AutoAMI needs Node.js 999.0.0 or later (engines.node >=999)\n`);
});

Check.run();
