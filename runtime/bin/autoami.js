#!/usr/bin/env node
// Runs the built sidecar when present (installed module), else the TypeScript sources.
import { existsSync } from 'node:fs';

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
