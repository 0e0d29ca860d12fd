#!/usr/bin/env node
// puppet.conf `autosign = <install_dir>/bin/autoami-autosign` (the class writes that wrapper,
// which runs this with the class's config file): Puppet Server runs the command with the
// certname as its only argument and the CSR on stdin; exit 0 signs. The built sidecar loads
// only the autosign bundle (../autosign.js), the repository the TypeScript sources.
import { existsSync, readFileSync } from 'node:fs';
import { nodeVersionProblem } from './node-version.js';

// package.json sits two levels up both in the repository and in the built module's files/sidecar.
const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const problem = nodeVersionProblem(process.version, engines?.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

const bundle = new URL('../autosign.js', import.meta.url);
let command;
if (existsSync(bundle)) {
  command = await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  command = await import(new URL('./autosign-main.ts', import.meta.url).href);
}
process.exitCode = await command.main(process.argv.slice(2));
