/**
 * What the acceptance run (spec/acceptance/run) takes from the README, found without a
 * master: the class declaration, the new_group command and the auth.conf rules, and the
 * readers of the master's outputs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bakeDoneLine, classDeclaration, classParameters, keyfileInstall, metricSamples, moduleInstallCommand, newGroupCommand, overallExposure, readmeAuthRules, readmeCatalogRule, readmeClassBlock } from './readme.ts';

const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const INIT_PP = readFileSync(fileURLToPath(new URL('../../module/manifests/init.pp', import.meta.url)), 'utf8');

const Readme = suite('acceptance: what it reads from the README');

Readme('should find the class declaration and add parameters to class autoami only', () => {
  const block = readmeClassBlock(README);
  assert.ok(block, 'README "Install on a Puppet master" has a ```puppet block declaring class autoami');
  const manifest = classDeclaration(block!, 'autoami', { aws_endpoint: "'http://127.0.0.1:1'", manage_db: 'false' });
  assert.match(manifest, /^\s+aws_endpoint\s+=> 'http:\/\/127\.0\.0\.1:1',$/m);
  assert.is(manifest.match(/manage_db\s*=>/g)?.length, 1, 'a parameter the README gives is kept as it gives it');
  assert.ok(manifest.startsWith(block!.slice(0, block!.indexOf("class { 'autoami':"))), 'what comes before class autoami is verbatim');
  assert.match(manifest, /,\n}\n$/);
});

Readme('should add parameters to a declaration without a trailing comma', () => {
  assert.is(classDeclaration("class { 'autoami':\n  a => 1\n}", 'autoami', { b: '2' }), "class { 'autoami':\n  a => 1,\n  b => 2,\n}\n");
  assert.is(classDeclaration("class { 'autoami': }", 'autoami', { b: '2' }), "class { 'autoami':\n  b => 2,\n}\n");
});

Readme('should find the new_group command, its group and keyfile', () => {
  const command = newGroupCommand(README);
  assert.ok(command, 'README "Commands" has `puppet autoami new_group ...`');
  assert.equal(command!.argv.slice(0, 3), ['puppet', 'autoami', 'new_group']);
  assert.ok(command!.argv.every((word) => word !== '\\' && word !== ''), command!.argv.join(' '));
  assert.is(command!.argv[command!.argv.indexOf('--keyfile') + 1], command!.keyfile);
  assert.is(command!.argv.at(-1), command!.group);
  for (const option of ['--image', '--puppetserver', '--enc-pass']) assert.ok(command!.argv.includes(option), option);
  const install = keyfileInstall(README);
  assert.ok(install, 'README says how to install the keyfile');
  assert.ok(install!.endsWith(command!.keyfile), `${install} installs ${command!.keyfile}`);
});

Readme('should find the offline puppet module install line', () => {
  const argv = moduleInstallCommand(README);
  assert.ok(argv, 'README "Install on a Puppet master" has `puppet module install --ignore-dependencies pkg/....tar.gz`');
  assert.equal(argv!.slice(0, 3), ['puppet', 'module', 'install']);
});

Readme('should find the auth.conf rules for the master certificate', () => {
  const rules = readmeAuthRules(README);
  assert.ok(rules, 'README "On the master" has the HOCON rules');
  assert.match(rules!, '/puppet-ca/v1/certificate_status');
});

Readme('should find the auth.conf rule for the catalog check, apart from the CA rules', () => {
  const rule = readmeCatalogRule(README);
  assert.ok(rule, 'README "On the master" has the catalog API rule');
  assert.match(rule!, 'path: "/puppet/v4/catalog", type: path, method: post');
  assert.not.match(readmeAuthRules(README)!, '/puppet/v4/catalog');
});

Readme("should read the class parameters and their defaults from init.pp", () => {
  const params = classParameters(INIT_PP, "autoami::puppet_group: 'puppet'\n");
  assert.ok(params.has('db_name') && params.has('puppet_group') && params.has('manage_db'), [...params.keys()].join(' '));
  assert.is(params.get('db_name'), "'autoami'");
  assert.is(params.get('puppet_group'), "'puppet'", 'a default from data/common.yaml');
  assert.not.ok(params.has('A'), 'no $ inside a Pattern type is taken for a parameter');
});

Readme('should read the outputs of run --wait, systemd-analyze security and /metrics', () => {
  const out = 'wordpress: queued\nwordpress: done (i-0123456789abcdef0 baked ami-0123456789abcdef0)\n';
  assert.equal(bakeDoneLine(out, 'wordpress'), { line: 'wordpress: done (i-0123456789abcdef0 baked ami-0123456789abcdef0)', instance: 'i-0123456789abcdef0', outcome: 'baked', image: 'ami-0123456789abcdef0' });
  assert.is(bakeDoneLine('wordpress: done (i-01234567 unchanged): no change\n', 'wordpress')?.outcome, 'unchanged');
  assert.is(bakeDoneLine(out, 'word'), undefined);
  assert.is(overallExposure('→ Overall exposure level for autoami.service: 1.9 OK 🙂\n'), 1.9);
  assert.equal(metricSamples('# HELP x\nautoami_bakes_total{group="wordpress",outcome="baked"} 2\nup 1 1700000000\n').map((s) => [s.name, s.value]), [['autoami_bakes_total', 2], ['up', 1]]);
});

Readme.run();
