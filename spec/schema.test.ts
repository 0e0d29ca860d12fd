import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../runtime/errors.ts';
import { findMethod } from '../runtime/interface/methods.ts';
import { checkParams, needsHost, validate, type Schema } from '../runtime/interface/schema.ts';
import { seedGroup } from './support/group-params.ts';

const create = findMethod('group.create')!.params;

async function rejection(schema: Schema, input: unknown): Promise<ValidationError> {
  try {
    await validate(schema, input);
  } catch (error) {
    assert.instance(error, ValidationError);
    return error as ValidationError;
  }
  throw assert.unreachable(`accepted ${JSON.stringify(input)}`);
}

const GroupCreate = suite('group.create schema');

GroupCreate('should accept the seed command and fill defaults', async () => {
  const params = await validate(create, seedGroup());
  assert.is(params.enc_port, 443);
  assert.is(params.region, 'us-east-1');
  assert.is(params.bootstrap, 'ssh');
  assert.is(params.keep, 5);
  assert.not.ok('subnet' in params);
});

GroupCreate('should accept 17-digit AMI ids and long instance types', async () => {
  const params = await validate(create, seedGroup({ image: 'ami-0123456789abcdef0', type: 'm7i-flex.2xlarge' }));
  assert.is(params.image, 'ami-0123456789abcdef0');
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['name', { name: "'; DROP TABLE groups; --" }, /^name: .* is not valid \(expected a lower-case letter/],
  ['name', { name: 'Wordpress' }, /^name:/],
  ['name', { name: 'a'.repeat(64) }, /^name:/],
  ['image', { image: 'ami-xyz' }, /^image: "ami-xyz" is not valid \(expected 'ami-' followed by 8 or 17 hex digits\)/],
  ['image', { image: 'ami-0abc123' }, /^image:/],
  ['type', { type: 't3' }, /^type:/],
  ['puppetserver', { puppetserver: 'puppet example' }, /^puppetserver:/],
  ['puppetserver', { puppetserver: '-bad.example.com' }, /^puppetserver:/],
  ['login', { login: 'root;reboot' }, /^login:/],
  ['enc_port', { enc_port: 70000 }, /^enc_port: 70000 is above 65535/],
  ['enc_port', { enc_port: '443' }, /^enc_port: expected an integer/],
  ['bootstrap', { bootstrap: 'telnet' }, /^bootstrap: "telnet" is not one of ssh, userdata/],
  ['keyfile', { keyfile: '/nonexistent/k.pem' }, /^keyfile: "\/nonexistent\/k.pem" does not exist/],
  ['keyfile', { keyfile: 'relative.pem' }, /^keyfile: .* is not an absolute path/],
  ['keyfile', { keyfile: '/tmp' }, /^keyfile: .* is not a regular file/],
  ['keyname', { keyname: 'a\u0000b' }, /^keyname: .* contains control characters/],
  ['keyname', { keyname: '\ud800' }, /^keyname: is not valid UTF-8/],
  ['keyname', { keyname: 'k'.repeat(300) }, /^keyname: longer than 255/],
  ['subnet', { subnet: 'subnet-zz' }, /^subnet:/],
  ['security_group', { security_group: 'default' }, /^security_group:/],
  ['image', { image: null }, /^image: is required/],
  ['surprise', { surprise: 1 }, /^surprise: is not a known parameter/],
];

for (const [field, overrides, message] of bad) {
  GroupCreate(`should reject ${field} = ${JSON.stringify(Object.values(overrides)[0])?.slice(0, 40)}`, async () => {
    const error = await rejection(create, seedGroup(overrides));
    assert.is(error.field, field);
    assert.is(error.code, -32602);
    assert.match(error.message, message);
  });
}

GroupCreate('should report a missing required field by name', async () => {
  const { keyname: _omitted, ...rest } = seedGroup();
  assert.is((await rejection(create, rest)).field, 'keyname');
});

GroupCreate('should never echo a secret in its error', async () => {
  const error = await rejection(create, seedGroup({ enc_pass: 'hunter2\u0007' }));
  assert.is(error.field, 'enc_pass');
  assert.not.match(error.message, /hunter2/);
  assert.match(error.message, /value hidden/);
});

GroupCreate('should reject params that are not an object', async () => {
  assert.is((await rejection(create, [1, 2])).field, 'params');
  assert.is((await rejection(create, 'x')).field, 'params');
});

const CheckParams = suite('checkParams');
const submit = findMethod('report.submit')!.params;

CheckParams('should tell the schemas that need the host from those that do not', () => {
  assert.ok(needsHost(create), 'group.create reads the keyfile');
  assert.not.ok(needsHost(submit), 'a report is checked by its values alone');
});

CheckParams('should refuse a schema with host checks instead of skipping them', () => {
  assert.throws(() => checkParams(create, seedGroup({ keyfile: '/nonexistent/k.pem' })), /host checks/);
});

CheckParams('should check values as validate does, without a promise', async () => {
  const report = { host: 'web01.example.com', transaction_uuid: 'u-1', status: 'changed', changed: 1, failed: 0 };
  const checked = checkParams(submit, report);
  assert.not.instance(checked, Promise);
  assert.equal(checked, await validate(submit, report));
  try {
    checkParams(submit, { ...report, changed: 'one' });
    assert.unreachable('accepted a string count');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, 'changed');
  }
});

CheckParams('should read only the own keys of the params, never inherited ones', () => {
  const inherited = Object.assign(Object.create({ status: 'changed' }), { host: 'web01.example.com', transaction_uuid: 'u-2' });
  assert.throws(() => checkParams(submit, inherited), (error: unknown) => error instanceof ValidationError && error.field === 'status');
});

GroupCreate.run();
CheckParams.run();
