import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ConfigError, PuppetApiError } from '../runtime/errors.ts';
import { PuppetCa, checkCsrForBake, type PuppetCaOptions } from '../runtime/puppet/ca.ts';
import { PP_INSTANCE_ID_OID } from '../runtime/puppet/types.ts';
import { makePki, type Pki } from './support/pki.ts';
import { startPuppetCa, type PuppetCaStandIn } from './support/puppet-ca.ts';
import { rejects } from './support/rejects.ts';

const INSTANCE = 'i-0123456789abcdef0';
/** For calls that should be answered: it only bounds a hang, far beyond a stand-in's reply on two busy cores. */
const TIMEOUT_MS = 60_000;
const CERTNAME = `wordpress-${INSTANCE}.autoami`;

interface Ctx {
  pki: Pki;
  server: PuppetCaStandIn;
  ca: PuppetCa;
  options: PuppetCaOptions;
}


const certificateStatusCalls = (server: PuppetCaStandIn) => server.calls.filter((c) => c.endpoint === 'certificate_status');

const Sign = suite<Ctx>('PuppetCa.signFor');
Sign.before(async (ctx) => {
  ctx.pki = makePki();
  ctx.server = await startPuppetCa(ctx.pki);
  ctx.options = { server: '127.0.0.1', port: ctx.server.port, hostcert: ctx.pki.master.cert, hostprivkey: ctx.pki.master.key, localcacert: ctx.pki.caCert, timeoutMs: TIMEOUT_MS };
  ctx.ca = new PuppetCa(ctx.options);
});
Sign.before.each(({ server }) => {
  server.calls.length = 0;
});
Sign.after(({ server }) => server.close());

Sign('should sign a CSR whose CN is the certname and whose pp_instance_id is the instance', async ({ pki, server, ca }) => {
  server.submit(CERTNAME, pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE }, keyType: 'rsa' }));
  assert.equal(await ca.signFor(CERTNAME, INSTANCE), { state: 'signed' });
  assert.is(server.state(CERTNAME), 'signed');
  assert.equal(certificateStatusCalls(server).map((c) => [c.method, c.client, c.status]), [['PUT', 'master', 204]]);
  // Signed: Puppet Server no longer holds a CSR, so a second poll waits rather than fails.
  assert.is((await ca.signFor(CERTNAME, INSTANCE)).state, 'pending');
});

Sign('should answer pending while no CSR has arrived', async ({ server, ca }) => {
  const result = await ca.signFor('db-i-0fff.autoami', 'i-0fff');
  assert.equal(result, { state: 'pending', reason: 'no CSR from db-i-0fff.autoami is waiting' });
  assert.equal(certificateStatusCalls(server), []);
});

Sign('should refuse a CSR whose pp_instance_id is another instance and never touch certificate_status', async ({ pki, server, ca }) => {
  const certname = 'web-i-0aaa.autoami';
  server.submit(certname, pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: 'i-0bbb' } }));
  const result = await ca.signFor(certname, 'i-0aaa');
  assert.is(result.state, 'refused');
  assert.match(result.state === 'refused' ? result.reason : '', /pp_instance_id "i-0bbb", but the bake instance is "i-0aaa"/);
  assert.equal(certificateStatusCalls(server), []);
  assert.is(server.state(certname), 'requested');
});

Sign('should refuse a CSR whose CN is not the certname', async ({ pki, server, ca }) => {
  const certname = 'web-i-0ccc.autoami';
  server.submit(certname, pki.makeCsr({ certname: 'puppet.example.com', extensions: { [PP_INSTANCE_ID_OID]: 'i-0ccc' } }));
  const result = await ca.signFor(certname, 'i-0ccc');
  assert.equal(result, { state: 'refused', reason: 'the CSR names CN "puppet.example.com", not "web-i-0ccc.autoami"' });
  assert.equal(certificateStatusCalls(server), []);
});

Sign('should refuse a CSR without pp_instance_id', async ({ pki, server, ca }) => {
  const certname = 'web-i-0ddd.autoami';
  server.submit(certname, pki.makeCsr({ certname }));
  const result = await ca.signFor(certname, 'i-0ddd');
  assert.equal(result, { state: 'refused', reason: 'the CSR for web-i-0ddd.autoami carries no pp_instance_id; expected "i-0ddd"' });
  assert.equal(certificateStatusCalls(server), []);
});

Sign('should never sign a certname it was not asked for', async ({ pki, server, ca }) => {
  server.submit('intruder.example.com', pki.makeCsr({ certname: 'intruder.example.com', extensions: { [PP_INSTANCE_ID_OID]: 'i-0eee' } }));
  assert.is((await ca.signFor('web-i-0eee.autoami', 'i-0eee')).state, 'pending');
  assert.is(server.state('intruder.example.com'), 'requested');
  assert.equal(certificateStatusCalls(server), []);
});

Sign('should URL-encode the certname', async ({ server, ca }) => {
  assert.is((await ca.signFor('a/../../b c', 'i-1')).state, 'pending');
  assert.equal(server.calls.map((c) => [c.endpoint, c.certname]), [['certificate_request', 'a/../../b c']]);
});

Sign('should fail naming the URL, the 403 and auth.conf when the CA refuses the client certificate', async ({ pki, server, options }) => {
  const foreign = makePki('Some other CA').issue('master');
  const agent = pki.issue('agent01');
  for (const client of [foreign, agent]) {
    const certname = `web-${client === agent ? 'i-0a' : 'i-0f'}.autoami`;
    server.submit(certname, pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: certname.slice(4, -8) } }));
    const ca = new PuppetCa({ ...options, hostcert: client.cert, hostprivkey: client.key });
    const error = await rejects(ca.signFor(certname, certname.slice(4, -8)));
    assert.instance(error, PuppetApiError);
    assert.match(error.message, `PUT https://127.0.0.1:${server.port}/puppet-ca/v1/certificate_status/${certname} answered 403`);
    assert.match(error.message, /auth\.conf must allow/);
    assert.is(server.state(certname), 'requested');
  }
});

Sign('should fail naming the URL when the server certificate is not from localcacert', async ({ server, options }) => {
  const ca = new PuppetCa({ ...options, localcacert: makePki('Untrusted').caCert });
  const error = await rejects(ca.signFor(CERTNAME, INSTANCE));
  assert.instance(error, PuppetApiError);
  // The words are Node's (OpenSSL's), and change between releases; the code names the check that failed.
  const cause = error.cause as NodeJS.ErrnoException;
  assert.is(cause.code, 'SELF_SIGNED_CERT_IN_CHAIN');
  assert.is(error.message, `GET https://127.0.0.1:${server.port}/puppet-ca/v1/certificate_request/${CERTNAME}: ${cause.message} (SELF_SIGNED_CERT_IN_CHAIN)`);
});

Sign('should give up on a silent server after timeoutMs, naming the URL', async ({ options }) => {
  const held: Socket[] = [];
  const silent = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  const error = await rejects(new PuppetCa({ ...options, port, timeoutMs: 300 }).signFor(CERTNAME, INSTANCE));
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  assert.instance(error, PuppetApiError);
  assert.is(error.message, `GET https://127.0.0.1:${port}/puppet-ca/v1/certificate_request/${CERTNAME}: no reply within 300 ms`);
});

Sign('should name the config key of an unreadable hostcert', async ({ options }) => {
  const error = await rejects(new PuppetCa({ ...options, hostcert: '/nonexistent/master.pem' }).signFor(CERTNAME, INSTANCE));
  assert.instance(error, ConfigError);
  assert.match(error.message, /^config puppet\.hostcert: cannot read "\/nonexistent\/master\.pem": ENOENT/);
});

Sign.run();

const Clean = suite<Ctx>('PuppetCa.clean');
Clean.before(async (ctx) => {
  ctx.pki = makePki();
  ctx.server = await startPuppetCa(ctx.pki);
  ctx.ca = new PuppetCa({ server: '127.0.0.1', port: ctx.server.port, hostcert: ctx.pki.master.cert, hostprivkey: ctx.pki.master.key, localcacert: ctx.pki.caCert });
});
Clean.before.each(({ server }) => {
  server.calls.length = 0;
});
Clean.after(({ server }) => server.close());

Clean('should revoke and then delete a signed certificate', async ({ pki, server, ca }) => {
  server.submit(CERTNAME, pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE } }));
  assert.is((await ca.signFor(CERTNAME, INSTANCE)).state, 'signed');
  server.calls.length = 0;
  await ca.clean(CERTNAME);
  assert.equal(server.calls.map((c) => [c.method, c.endpoint, c.status]), [['PUT', 'certificate_status', 204], ['DELETE', 'certificate_status', 204]]);
  assert.is(server.state(CERTNAME), undefined);
});

Clean('should remove a CSR that was never signed', async ({ pki, server, ca }) => {
  server.submit('web-i-0123.autoami', pki.makeCsr({ certname: 'web-i-0123.autoami' }));
  await ca.clean('web-i-0123.autoami');
  assert.equal(server.calls.map((c) => c.status), [409, 204]);
  assert.is(server.state('web-i-0123.autoami'), undefined);
});

Clean('should accept a certname the CA has never heard of', async ({ server, ca }) => {
  await ca.clean('gone-i-0999.autoami');
  assert.equal(server.calls.map((c) => c.status), [404, 404]);
});

Clean.run();

const Check = suite('checkCsrForBake');

Check('should refuse hostile bytes and an empty expected instance id', () => {
  const result = checkCsrForBake('-----BEGIN CERTIFICATE REQUEST-----\nMIIBAA==\n-----END CERTIFICATE REQUEST-----', CERTNAME, INSTANCE);
  assert.is(result.state, 'refused');
  assert.match(result.state === 'refused' ? result.reason : '', /^the CSR for .* is unusable: malformed CSR: /);
  assert.equal(checkCsrForBake('', CERTNAME, ''), { state: 'refused', reason: `no instance id is known for ${CERTNAME}` });
});

Check('should refuse a CSR whose signature does not match its key', () => {
  const pki = makePki();
  const csr = pki.makeCsr({ certname: 'web-i-0abc.autoami', extensions: { [PP_INSTANCE_ID_OID]: 'i-0abc' } });
  assert.equal(checkCsrForBake(csr, 'web-i-0abc.autoami', 'i-0abc'), { state: 'allowed' });
  const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  for (let at = der.indexOf('i-0abc'); at >= 0; at = der.indexOf('i-0abc')) der.write('i-0abd', at);
  const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(checkCsrForBake(forged, 'web-i-0abd.autoami', 'i-0abd'), {
    state: 'refused',
    reason: 'the CSR for web-i-0abd.autoami is not signed by the key it carries',
  });
});

Check.run();
