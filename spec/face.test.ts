/**
 * The seed's commands through the real `puppet` binary, the generated face, the socket
 * and a real `autoami serve`, once per store backend.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { DatabaseConfig } from '../runtime/config.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { keyfile } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { puppetEnv, type PuppetEnv } from './support/puppet.ts';
import { spawnSidecar, type SidecarProcess } from './support/sidecar-process.ts';
import { writeConfig } from './support/sidecar.ts';

interface Context {
  puppet: PuppetEnv;
  endpoint: Ec2Endpoint;
  sidecar: SidecarProcess;
  configFile: string;
  socket: string;
  keyfile: string;
  /** Every stored row, to prove a refused command changed nothing. */
  tables(): Promise<string>;
}

function seedArgs(key: string, name = 'wordpress'): string[] {
  return [
    'autoami', 'new_group', '--enc-user', 'admin', '--enc-pass', 'secret', '--image', 'ami-0abc1234',
    '--keyfile', key, '--keyname', 'deploy', '--login', 'ec2-user', '--node-group', 'wordpress',
    '--puppetserver', 'puppet.example.com', '--type', 't3.micro', name,
  ];
}

function replace(args: string[], flag: string, value: string | null): string[] {
  const index = args.indexOf(flag);
  const copy = [...args];
  if (value === null) copy.splice(index, 2);
  else copy[index + 1] = value;
  return copy;
}

function faceSuite(label: string, database: () => Promise<DatabaseConfig | undefined>) {
  const Face = suite<Context>(`autoami face (${label})`);

  Face.before(async (context) => {
    const db = await database();
    context.endpoint = await startEc2Endpoint();
    const { file, socket, dir } = writeConfig(db, { aws: { region: 'us-east-1', endpoint: context.endpoint.url } });
    context.configFile = file;
    context.socket = socket;
    context.keyfile = keyfile();
    context.puppet = puppetEnv({ AUTOAMI_CONFIG: file });
    context.sidecar = await spawnSidecar(file, socket);
    context.tables = async () => {
      if (!db) return readFileSync(join(dir, 'state', 'store.json'), 'utf8');
      const connection = await createConnection({ socketPath: db.socket_path, user: db.user, password: db.password, database: db.name });
      const [rows] = await connection.query('SELECT * FROM `groups` ORDER BY name');
      await connection.end();
      return JSON.stringify(rows);
    };
  });

  Face.after(async ({ sidecar, endpoint }) => {
    await sidecar.stop();
    await endpoint.stop();
  });

  Face('should create the seed group from the verbatim command', async ({ puppet, keyfile }) => {
    const result = await puppet.run(seedArgs(keyfile));
    assert.is(result.status, 0, result.stderr);
    assert.is(result.stdout.trim(), 'Created group wordpress from ami-0abc1234');
  });

  Face('should list the group with every field and the password redacted', async ({ puppet, keyfile }) => {
    const result = await puppet.run(['autoami', 'groups', '--render-as', 'json']);
    assert.is(result.status, 0, result.stderr);
    const groups = JSON.parse(result.stdout) as Record<string, unknown>[];
    assert.is(groups.length, 1);
    const group = groups[0]!;
    assert.equal(
      { ...group, created_at: undefined, updated_at: undefined },
      {
        name: 'wordpress', image: 'ami-0abc1234', base_image: 'ami-0abc1234', type: 't3.micro', keyname: 'deploy',
        keyfile, login: 'ec2-user', puppetserver: 'puppet.example.com', node_group: 'wordpress', enc_user: 'admin',
        enc_pass: '[redacted]', enc_server: null, enc_port: 443, region: 'us-east-1', subnet: null, security_group: null,
        bootstrap: 'ssh', keep: 5, template: null, keep_failed: false, verify: false, created_at: undefined, updated_at: undefined,
        keep_days: null, copy_to: [], encrypt: false, kms_key: [], share_with: [], deprecate_after: null, images: { 'us-east-1': 'ami-0abc1234' },
        ssm_parameter: [], launch_template: [], instance_refresh: [], min_healthy_percentage: 90, refresh_replace_all: false, bake_on: 'intentional', ignore_resources: [], base_image_from: null, base_image_filter: null, base_image_owner: null, catalog_hash: null, followed_base: null, channels: { latest: 'ami-0abc1234' }, follows: null,
      },
    );
    assert.match(String(group.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.not.match(result.stdout, /secret/);
  });

  Face('should show a table on the console', async ({ puppet }) => {
    const result = await puppet.run(['autoami', 'groups']);
    assert.is(result.status, 0, result.stderr);
    const [heading, row] = result.stdout.trim().split('\n');
    assert.match(heading!, /^GROUP\s+IMAGE\s+TYPE/);
    assert.match(row!, /^wordpress\s+ami-0abc1234\s+t3\.micro\s+us-east-1\s+us-east-1=ami-0abc1234\s+latest=ami-0abc1234\s+-\s+ssh/);
  });

  const refusals: [string, (args: string[]) => string[], RegExp][] = [
    ['an injected name', (args) => [...args.slice(0, -1), "'; DROP TABLE groups; --"], /name: .*DROP TABLE.* is not valid/],
    ['a malformed image', (args) => replace(args, '--image', 'ami-xyz'), /image: "ami-xyz" is not valid/],
    ['a missing required option', (args) => replace(args, '--keyname', null), /keyname: is required/],
    ['a key file that does not exist', (args) => replace(args, '--keyfile', '/nonexistent/deploy.pem'), /keyfile: "\/nonexistent\/deploy.pem" does not exist/],
    ['a duplicate name', (args) => args, /name: group "wordpress" already exists/],
    ['a non-numeric port', (args) => [...args.slice(0, -1), '--enc-port', 'https', 'other'], /enc_port: expected an integer/],
    ['a base image pattern without its owner', (args) => [...args.slice(0, -1), '--base-image-filter', 'debian-12-amd64-*', 'other'], /base_image_filter: "debian-12-amd64-\*" needs --base-image-owner/],
    ['a base image owner that is none', (args) => [...args.slice(0, -1), '--base-image-filter', 'debian-*', '--base-image-owner', 'debian', 'other'], /base_image_owner: "debian" is not valid/],
  ];
  for (const [what, mutate, message] of refusals) {
    Face(`should refuse ${what} with one line and leave the store as it was`, async ({ puppet, keyfile, tables }) => {
      const before = await tables();
      const result = await puppet.run(mutate(seedArgs(keyfile)));
      assert.is.not(result.status, 0);
      assert.is(result.errorLines.length, 1, result.stderr);
      assert.match(result.errorLines[0]!, message);
      assert.is(await tables(), before);
    });
  }

  Face('should refuse to delete an unknown group, naming it', async ({ puppet, tables }) => {
    const before = await tables();
    const result = await puppet.run(['autoami', 'delete_group', 'nosuch']);
    assert.is(result.status, 1);
    assert.equal(result.errorLines, ['Error: name: no group named "nosuch"']);
    assert.is(await tables(), before);
  });

  Face('should delete the group', async ({ puppet }) => {
    const result = await puppet.run(['autoami', 'delete_group', 'wordpress']);
    assert.is(result.status, 0, result.stderr);
    assert.is(result.stdout.trim(), 'Deleted group wordpress');
    const listed = await puppet.run(['autoami', 'groups', '--render-as', 'json']);
    assert.equal(JSON.parse(listed.stdout), []);
  });

  Face('should take a list option repeated as well as comma-separated, and deliver to every region named', async ({ puppet, keyfile }) => {
    const accounts = ['210987654321', '123456789012', '111122223333'];
    const args = [...seedArgs(keyfile, 'lists').slice(0, -1), '--share-with', accounts[0]!, '--share-with', `${accounts[1]},${accounts[2]}`, '--copy-to', 'eu-west-1', '--copy-to', 'us-west-2', 'lists'];
    const created = await puppet.run(args);
    assert.is(created.status, 0, created.stderr);
    const listed = await puppet.run(['autoami', 'groups', '--render-as', 'json']);
    const group = (JSON.parse(listed.stdout) as { name: string; share_with: string[]; copy_to: string[] }[]).find((each) => each.name === 'lists');
    assert.equal(group?.share_with, accounts);
    assert.equal(group?.copy_to, ['eu-west-1', 'us-west-2']);
    assert.is((await puppet.run(['autoami', 'delete_group', 'lists'])).status, 0);
  });

  Face('should report status', async ({ puppet }) => {
    const result = await puppet.run(['autoami', 'status', '--render-as', 'json']);
    assert.is(result.status, 0, result.stderr);
    const status = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.is(status.store, label);
    assert.is(status.store_ok, true);
    assert.is(status.ec2_ok, true, String(status.ec2_error));
    assert.is(status.queue_depth, 0);
  });

  Face('should stop on SIGTERM with exit code 0 and remove its socket', async ({ sidecar, socket }) => {
    assert.is(await sidecar.stop(), 0);
    assert.not.ok(existsSync(socket));
  });

  Face('should name the socket and how to start the sidecar when it is down', async ({ puppet, keyfile, configFile, socket }) => {
    for (const args of [['autoami', 'groups'], seedArgs(keyfile)]) {
      const result = await puppet.run(args);
      assert.is(result.status, 1);
      assert.is(result.errorLines.length, 1, result.stderr);
      assert.ok(result.errorLines[0]!.includes(socket), result.errorLines[0]);
      assert.ok(result.errorLines[0]!.includes(`autoami serve --config ${configFile}`), result.errorLines[0]);
    }
  });

  return Face;
}

faceSuite('embedded', async () => undefined).run();
faceSuite('mysql', async () => (await startMariadb()).createDatabase()).run();
