#!/usr/bin/env node
// Runs the built sidecar when present (installed module: ../cli.js is the bundle `npm run
// build` writes), else the TypeScript sources. This file and node-version.js stay plain,
// unbundled JavaScript, so an older Node.js gets the version check, not a syntax error.
import { loadEntry } from './node-version.js';

const cli = await loadEntry(new URL('../cli.js', import.meta.url), new URL('../cli.ts', import.meta.url));
await cli.main(process.argv.slice(2));
