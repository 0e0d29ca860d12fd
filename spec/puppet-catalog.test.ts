/**
 * The catalog check's compile against Debian's real Puppet Server, with the auth.conf rule
 * the README gives for the master's certname on the catalog API.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PuppetCatalogs, type CompileRequest } from '../runtime/puppet/catalog.ts';
import { catalogHash, normaliseCatalog } from '../runtime/puppet/catalog-digest.ts';
import { SERVER_CERTNAME, startPuppetServer, type PuppetServer } from './support/puppetserver.ts';
import { freePort } from './support/sshd.ts';

/** The rule README.md gives, for the master's own certname. */
const CATALOG_AUTH_RULE = `{ match-request: { path: "/puppet/v4/catalog", type: path, method: post }, allow: [ "${SERVER_CERTNAME}" ], sort-order: 400, name: "autoami catalog check" }`;

const SITE = `node default {
  $role = $trusted['extensions']['pp_role']
  if $role == 'broken' { fail("role \${role} does not compile") }
  file { "/etc/\${role}.conf": content => "role \${role} on \${facts['os']['family']} as \${trusted['certname']}\\n" }
  notify { 'instance': message => $trusted['extensions']['pp_instance_id'] }
}
`;

const request = (role: string, instanceId: string): CompileRequest => ({
  certname: `${role}-${instanceId}.autoami`,
  environment: 'production',
  facts: { os: { family: 'Debian', name: 'Debian' }, networking: { ip: '10.0.0.9' } },
  extensions: { pp_role: role, pp_instance_id: instanceId },
});

const Catalog = suite<{ server: PuppetServer; catalogs: PuppetCatalogs }>('puppet catalog API');

Catalog.before(async (context) => {
  context.server = await startPuppetServer({ reports: 'store', authRules: [CATALOG_AUTH_RULE] });
  context.server.writeSite(SITE);
  const { port, hostcert, hostprivkey, localcacert } = context.server;
  context.catalogs = new PuppetCatalogs({ port, hostcert, hostprivkey, localcacert });
});

Catalog.after(async ({ server }) => server?.stop());

Catalog('should compile the role with the facts given and the trusted facts a bake instance presents', async ({ catalogs }) => {
  const compiled = await catalogs.compile(SERVER_CERTNAME, request('web', 'i-0123456789abcdef0'));
  assert.is(compiled.state, 'compiled', compiled.state === 'not_compiled' ? compiled.reason : '');
  if (compiled.state !== 'compiled') return;
  const resources = (compiled.catalog as { resources: { type: string; title: string; parameters?: Record<string, unknown> }[] }).resources;
  const file = resources.find((resource) => resource.type === 'File');
  assert.is(file?.title, '/etc/web.conf');
  assert.is(file?.parameters?.content, 'role web on Debian as web-i-0123456789abcdef0.autoami\n');
  assert.is(resources.find((resource) => resource.type === 'Notify')?.parameters?.message, 'i-0123456789abcdef0');
  assert.ok(compiled.ms > 0);
});

Catalog('should hash two instances of one role alike, and another role differently', async ({ catalogs }) => {
  const key = Buffer.alloc(32, 1);
  const hashOf = async (role: string, instanceId: string) => {
    const compiled = await catalogs.compile(SERVER_CERTNAME, request(role, instanceId));
    assert.is(compiled.state, 'compiled');
    if (compiled.state !== 'compiled') return '';
    return catalogHash(normaliseCatalog(compiled.catalog, { certname: `${role}-${instanceId}.autoami`, instanceId, sensitiveKey: key }));
  };
  const first = await hashOf('web', 'i-0aaaaaaaaaaaaaaa1');
  assert.is(await hashOf('web', 'i-0bbbbbbbbbbbbbbb2'), first);
  assert.is.not(await hashOf('db', 'i-0aaaaaaaaaaaaaaa1'), first);
});

Catalog("should say why when the role does not compile, in the server's words", async ({ catalogs }) => {
  const compiled = await catalogs.compile(SERVER_CERTNAME, request('broken', 'i-0123456789abcdef0'));
  assert.is(compiled.state, 'not_compiled');
  if (compiled.state !== 'not_compiled') return;
  assert.match(compiled.reason, /^POST https:\/\/localhost:\d+\/puppet\/v4\/catalog answered \d{3}: /);
  assert.match(compiled.reason, 'role broken does not compile');
});

Catalog('should say why when no server answers', async ({ server }) => {
  const { hostcert, hostprivkey, localcacert } = server;
  const closed = new PuppetCatalogs({ port: await freePort(), hostcert, hostprivkey, localcacert, timeoutMs: 5_000 });
  const compiled = await closed.compile('127.0.0.1', request('web', 'i-0123456789abcdef0'));
  assert.equal(compiled.state, 'not_compiled');
  if (compiled.state === 'not_compiled') assert.match(compiled.reason, /ECONNREFUSED/);
});

Catalog('should say which setting is wrong when the master certificate cannot be read', async ({ server }) => {
  const broken = new PuppetCatalogs({ port: server.port, hostcert: '/nonexistent/cert.pem', hostprivkey: server.hostprivkey, localcacert: server.localcacert });
  const compiled = await broken.compile(SERVER_CERTNAME, request('web', 'i-0123456789abcdef0'));
  assert.equal(compiled.state, 'not_compiled');
  if (compiled.state === 'not_compiled') assert.match(compiled.reason, 'puppet.hostcert');
});

Catalog.run();
