#!/usr/bin/env node
// puppet.conf `autosign = <install_dir>/bin/autoami-autosign` (the class writes that wrapper,
// which runs this with the class's config file): Puppet Server runs the command with the
// certname as its only argument and the CSR on stdin; exit 0 signs. The built sidecar loads
// only the autosign bundle (../autosign.js), the repository the TypeScript sources.
import { loadEntry } from './node-version.js';

const command = await loadEntry(new URL('../autosign.js', import.meta.url), new URL('./autosign-main.ts', import.meta.url));
process.exitCode = await command.main(process.argv.slice(2));
