#!/usr/bin/env node
// Runs the built sidecar when present (installed module: ../cli.js is the bundle `npm run
// build` writes), else the TypeScript sources. This file and node-version.js stay plain,
// unbundled JavaScript, so an older Node.js gets the version check, not a syntax error.
import { existsSync, readFileSync } from 'node:fs';
import { nodeVersionProblem } from './node-version.js';

// package.json sits two levels up both in the repository and in the built module's files/sidecar.
const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const problem = nodeVersionProblem(process.version, engines?.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

const built = new URL('../cli.js', import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../cli.ts', import.meta.url).href);
}
await cli.main(process.argv.slice(2));
