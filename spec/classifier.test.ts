import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PuppetApiError } from '../runtime/errors.ts';
import { NoClassifier, PeClassifier } from '../runtime/puppet/classifier.ts';
import type { Group } from '../runtime/store/store.ts';
import { makePki, type Pki } from './support/pki.ts';
import { startPeConsole, type PeConsoleStandIn } from './support/pe-console.ts';
import { rejects } from './support/rejects.ts';

const PASSWORD = 'c0rrect-h0rse-battery';
const WEB = '2b6d5f2a-7a1b-4e3c-9d8e-000000000001';
const DB = '2b6d5f2a-7a1b-4e3c-9d8e-000000000002';

interface Ctx {
  pki: Pki;
  console: PeConsoleStandIn;
  group(overrides?: Partial<Group>): Group;
}


const Pe = suite<Ctx>('PeClassifier');
Pe.before(async (ctx) => {
  ctx.pki = makePki();
  ctx.console = await startPeConsole(ctx.pki, { users: { admin: PASSWORD }, groups: [{ id: WEB, name: 'wordpress' }, { id: DB, name: 'db' }] });
  const port = ctx.console.port;
  ctx.group = (overrides = {}) => ({
    name: 'wordpress', image: 'ami-0abc1234', base_image: 'ami-0abc1234', catalog_hash: null, type: 't3.micro', keyname: 'deploy', keyfile: '/k.pem', login: 'ec2-user',
    puppetserver: 'puppet.invalid', node_group: 'wordpress', enc_user: 'admin', enc_pass: PASSWORD, enc_server: '127.0.0.1', enc_port: port,
    region: 'us-east-1', subnet: null, security_group: null, bootstrap: 'ssh', keep: 3, template: null, keep_failed: false, keep_days: null, copy_to: [], encrypt: false, kms_key: [], share_with: [], deprecate_after: null, ssm_parameter: [], launch_template: [], instance_refresh: [], min_healthy_percentage: 90, refresh_replace_all: false, bake_on: 'intentional', ignore_resources: [], base_image_from: null, base_image_filter: null, base_image_owner: null, followed_base: null, verify: false, created_at: Date.UTC(2025, 0, 1), updated_at: Date.UTC(2025, 0, 1),
    ...overrides,
  });
});
Pe.before.each(({ console }) => {
  console.calls.length = 0;
  console.issued.length = 0;
});
Pe.after(({ console }) => console.close());

// The timeout only bounds a hang: the stand-in answers at once, unless two busy cores delay it.
const classifier = (pki: Pki) => new PeClassifier({ localcacert: pki.caCert, timeoutMs: 60_000 });

Pe('should log in, find the node group by name and pin the certname', async ({ pki, console, group }) => {
  const result = await classifier(pki).pin(group(), 'wordpress-i-01.autoami');
  assert.equal(result, { state: 'pinned', groupId: WEB });
  assert.equal(console.pinned(WEB), ['wordpress-i-01.autoami']);
  assert.equal(console.pinned(DB), []);
  assert.equal(console.calls.map((c) => [c.method, c.path, c.status]), [
    ['POST', '/rbac-api/v1/auth/token', 200],
    ['GET', '/classifier-api/v1/groups', 200],
    ['POST', `/classifier-api/v1/groups/${WEB}/pin`, 204],
  ]);
  assert.equal(JSON.parse(console.calls[0]!.body), { login: 'admin', password: PASSWORD, lifetime: '10m' });
  assert.equal(JSON.parse(console.calls[2]!.body), { nodes: ['wordpress-i-01.autoami'] });
});

Pe('should reuse its token, and unpin into the right group', async ({ pki, console, group }) => {
  const pe = classifier(pki);
  await pe.pin(group({ node_group: 'db' }), 'db-i-02.autoami');
  await pe.pin(group({ node_group: 'db' }), 'db-i-03.autoami');
  assert.equal(console.pinned(DB).sort(), ['db-i-02.autoami', 'db-i-03.autoami']);
  await pe.unpin(group({ node_group: 'db' }), 'db-i-02.autoami');
  assert.equal(console.pinned(DB), ['db-i-03.autoami']);
  assert.equal(console.issued, ['admin']);
  assert.equal(console.calls.filter((c) => c.path.endsWith('/unpin')).map((c) => c.status), [204]);
});

Pe('should log in again once when its token was revoked', async ({ pki, console, group }) => {
  const pe = classifier(pki);
  await pe.pin(group(), 'wordpress-i-04.autoami');
  console.revokeTokens();
  assert.equal(await pe.pin(group(), 'wordpress-i-05.autoami'), { state: 'pinned', groupId: WEB });
  assert.equal(console.issued, ['admin', 'admin']);
});

Pe('should fall back to the puppetserver when no --enc-server is given', async ({ pki, console, group }) => {
  assert.equal(await classifier(pki).pin(group({ enc_server: null, puppetserver: '127.0.0.1' }), 'wordpress-i-06.autoami'), { state: 'pinned', groupId: WEB });
  assert.ok(console.pinned(WEB).includes('wordpress-i-06.autoami'));
});

Pe('should name an unknown node group and the groups the console has', async ({ pki, console, group }) => {
  const error = await rejects(classifier(pki).pin(group({ node_group: 'wordpres' }), 'wordpress-i-07.autoami'));
  assert.instance(error, PuppetApiError);
  assert.is(error.message, 'node group "wordpres" does not exist on the PE console at 127.0.0.1:' + console.port + ' (it has: wordpress, db)');
  assert.equal((error as PuppetApiError).data, { status: null, field: 'node_group' });
  assert.not.ok(console.calls.some((c) => c.path.endsWith('/pin')));
});

Pe('should not fail to unpin from a node group that is gone', async ({ pki, console, group }) => {
  await classifier(pki).unpin(group({ node_group: 'deleted' }), 'wordpress-i-08.autoami');
  assert.not.ok(console.calls.some((c) => c.path.endsWith('/unpin')));
});

Pe('should report a refused login without the password', async ({ pki, console, group }) => {
  const wrong = 'hunter2-wrong-secret';
  for (const attempt of [group({ enc_pass: wrong }), group({ enc_user: 'mallory' })]) {
    const error = await rejects(classifier(pki).pin(attempt, 'wordpress-i-09.autoami'));
    assert.instance(error, PuppetApiError);
    assert.is(error.message, `the console at 127.0.0.1:${console.port} refused login ${JSON.stringify(attempt.enc_user)} (check --enc-user/--enc-pass)`);
    const everything = JSON.stringify({ message: error.message, data: (error as PuppetApiError).data, stack: error.stack });
    assert.not.ok(everything.includes(wrong) || everything.includes(PASSWORD), 'a password leaked into the error');
  }
  assert.equal(console.pinned(WEB).includes('wordpress-i-09.autoami'), false);
});

Pe('should refuse a console whose certificate is not from the Puppet CA, naming the URL only', async ({ console, group }) => {
  const error = await rejects(new PeClassifier({ localcacert: makePki('Untrusted').caCert }).pin(group(), 'wordpress-i-10.autoami'));
  assert.instance(error, PuppetApiError);
  assert.match(error.message, `POST https://127.0.0.1:${console.port}/rbac-api/v1/auth/token: `);
  assert.not.ok(error.message.includes(PASSWORD));
  assert.equal(console.calls, []);
});

Pe('should skip a group without --node-group or --enc-user', async ({ pki, console, group }) => {
  const pe = classifier(pki);
  assert.is((await pe.pin(group({ node_group: '' }), 'x-i-11.autoami')).state, 'skipped');
  assert.is((await pe.pin(group({ enc_user: '' }), 'x-i-11.autoami')).state, 'skipped');
  await pe.unpin(group({ node_group: '' }), 'x-i-11.autoami');
  assert.equal(console.calls, []);
});

Pe.run();

const None = suite('NoClassifier');

None('should skip pinning: pp_role carries the group', async () => {
  const none = new NoClassifier();
  const group = { name: 'wordpress', node_group: 'wordpress' } as Group;
  assert.equal(await none.pin(group, 'wordpress-i-01.autoami'), { state: 'skipped', reason: 'no PE console: pp_role carries the group' });
  await none.unpin(group, 'wordpress-i-01.autoami');
});

None.run();
