import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../runtime/errors.ts';
import { configPath, parseConfig } from '../runtime/config.ts';
import { tempDir } from './support/tmp.ts';

const Config = suite('config');

async function refused(text: string): Promise<ConfigError> {
  try {
    await parseConfig(text, '/etc/autoami.yaml');
  } catch (error) {
    assert.instance(error, ConfigError);
    return error as ConfigError;
  }
  throw assert.unreachable(`accepted ${text}`);
}

Config('should apply defaults to an empty file', async () => {
  const config = await parseConfig('', '/x.yaml');
  assert.is(config.socket, '/run/autoami/autoami.sock');
  assert.is(config.state_dir, '/var/lib/autoami');
  assert.is(config.database, undefined);
  assert.is(config.aws.region, 'us-east-1');
  assert.is(config.bake.report_timeout_ms, 45 * 60_000);
  assert.is(config.bake.concurrency, 16);
});

Config('should not assume Puppet Enterprise: classifier none unless PE is installed or pe is given', async () => {
  const dir = tempDir();
  const peVersionFile = join(dir, 'pe_version');
  assert.is((await parseConfig('', '/x.yaml', { peVersionFile })).puppet.classifier, 'none');
  writeFileSync(peVersionFile, '2023.8.0\n');
  assert.is((await parseConfig('', '/x.yaml', { peVersionFile })).puppet.classifier, 'pe');
  assert.is((await parseConfig('puppet: { classifier: none }', '/x.yaml', { peVersionFile })).puppet.classifier, 'none');
  assert.is((await parseConfig('puppet: { classifier: pe }', '/x.yaml')).puppet.classifier, 'pe');
});

Config('should read endpoints for SSM and Auto Scaling apart from EC2\'s, and refuse a bad one naming its key', async () => {
  const config = await parseConfig('aws: { endpoint: "http://127.0.0.1:4566", endpoints: { ssm: "https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com" } }', '/x.yaml');
  assert.equal(config.aws.endpoints, { ssm: 'https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com', autoscaling: undefined });
  assert.is(config.aws.endpoint, 'http://127.0.0.1:4566');
  assert.equal((await parseConfig('', '/x.yaml')).aws.endpoints, { ssm: undefined, autoscaling: undefined });
  assert.is((await refused('aws: { endpoints: { autoscaling: "ftp://x" } }')).key, 'aws.endpoints.autoscaling');
  assert.is((await refused('aws: { endpoints: { kms: "http://x" } }')).key, 'aws.endpoints.kms');
  assert.is((await refused('aws: { endpoints: "http://x" }')).key, 'aws.endpoints');
});

Config('should read the design example', async () => {
  const config = await parseConfig(
    `socket: /run/autoami/autoami.sock
state_dir: /var/lib/autoami
database: { host: db.example.com, port: 3307, user: autoami, password: secret, name: autoami }
aws: { region: eu-west-1, endpoint: "http://127.0.0.1:4566", profile: default }
puppet: { server: puppet.example.com }
bake: { report_timeout: 30m, concurrency: 4 }
`,
    '/x.yaml',
  );
  assert.equal(config.database, { host: 'db.example.com', port: 3307, socket_path: undefined, user: 'autoami', password: 'secret', name: 'autoami', pool_size: 10 });
  assert.is(config.aws.endpoint, 'http://127.0.0.1:4566');
  assert.is(config.bake.report_timeout_ms, 30 * 60_000);
});

Config('should name the key and value of each bad setting', async () => {
  const cases: [string, string, RegExp][] = [
    ['sockett: /x', 'sockett', /unknown key/],
    ['socket: relative.sock', 'socket', /"relative.sock"/],
    ['database: { user: a, colour: blue }', 'database.colour', /unknown key/],
    ['database: { password: x }', 'database.user', /required/],
    ['database: { user: a, port: 99999 }', 'database.port', /99999/],
    ['database: { user: a, name: "x; drop" }', 'database.name', /"x; drop"/],
    ['database: { user: a, host: h, socket_path: /s }', 'database.socket_path', /either host or socket_path/],
    ['aws: { region: mars }', 'aws.region', /"mars"/],
    ['aws: { endpoint: "ftp://x" }', 'aws.endpoint', /"ftp:\/\/x"/],
    ['bake: { report_timeout: soon }', 'bake.report_timeout', /"soon"/],
    ['bake: { concurrency: 0 }', 'bake.concurrency', /got 0/],
    ['aws: [1]', 'aws', /mapping/],
    ['- a list', '(file)', /mapping/],
    ['a: [unclosed', '(file)', /not valid YAML/],
  ];
  for (const [text, key, message] of cases) {
    const error = await refused(text);
    assert.is(error.key, key, text);
    assert.match(error.message, message, text);
  }
});

Config('should read the database password from a file', async () => {
  const file = join(tempDir(), 'db.secret');
  writeFileSync(file, 's3cret\n', { mode: 0o600 });
  const config = await parseConfig(`database: { user: a, password_file: ${file} }`, '/x.yaml');
  assert.is(config.database?.password, 's3cret');
  const missing = await refused('database: { user: a, password_file: /nonexistent/secret }');
  assert.is(missing.key, 'database.password_file');
});

Config('should find the file by flag, then environment, then default', () => {
  assert.is(configPath('/a.yaml', { AUTOAMI_CONFIG: '/b.yaml' }), '/a.yaml');
  assert.is(configPath(undefined, { AUTOAMI_CONFIG: '/b.yaml' }), '/b.yaml');
  assert.is(configPath(undefined, {}), '/etc/puppetlabs/puppet/autoami.yaml');
});

Config.run();
