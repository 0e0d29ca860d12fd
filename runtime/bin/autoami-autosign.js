#!/usr/bin/env node
// puppet.conf `autosign = <install_dir>/runtime/bin/autoami-autosign.js`: Puppet Server runs
// the command with the certname as its only argument and the CSR on stdin.
process.argv.splice(2, 0, 'autosign');
await import('./autoami.js');
