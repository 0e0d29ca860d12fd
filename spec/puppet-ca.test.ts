import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ConfigError, PuppetApiError } from '../runtime/errors.ts';
import { PuppetCa, checkCsrForBake, type PuppetCaOptions } from '../runtime/puppet/ca.ts';
import { challengeHash } from '../runtime/puppet/challenge.ts';
import { PP_INSTANCE_ID_OID } from '../runtime/puppet/types.ts';
import { makePki, type Pki } from './support/pki.ts';
import { startPuppetCa, type PuppetCaStandIn } from './support/puppet-ca.ts';
import { rejects } from './support/rejects.ts';

const INSTANCE = 'i-0123456789abcdef0';
/** For calls that should be answered: it only bounds a hang, far beyond a stand-in's reply on two busy cores. */
const TIMEOUT_MS = 60_000;
const CERTNAME = `wordpress-${INSTANCE}.autoami`;
/** The bake's one-time secret, and what the store keeps of it. */
const SECRET = 'a1'.repeat(32);
const HASH = challengeHash(SECRET);
/** A secret of some other bake, or a guess: right shape, wrong value. */
const WRONG = 'b2'.repeat(32);
/** The bake's outstanding challenge as the CA sees it; `spends` counts its spending. */
function challenge(outstanding = true) {
  const spent = { count: 0 };
  return Object.assign({ hash: HASH, spend: async () => (spent.count++, outstanding) }, { spent });
}

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

/** What the bake instance's own agent submits: the right certname, instance id and secret. */
const genuine = (pki: Pki, certname: string, instance: string, keyType: 'ec' | 'rsa' = 'ec') =>
  pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: instance }, challengePassword: SECRET, keyType });

const REMOVED = 'the CSR was removed, so the instance can ask again';

Sign('should sign a CSR whose CN is the certname, whose pp_instance_id is the instance and which carries the secret', async ({ pki, server, ca }) => {
  server.submit(CERTNAME, genuine(pki, CERTNAME, INSTANCE, 'rsa'));
  assert.equal(await ca.signFor(CERTNAME, INSTANCE, challenge()), { state: 'signed' });
  assert.is(server.state(CERTNAME), 'signed');
  assert.equal(certificateStatusCalls(server).map((c) => [c.method, c.client, c.status]), [['PUT', 'master', 204]]);
  // Signed: Puppet Server no longer holds a CSR, so a second poll waits rather than fails.
  assert.is((await ca.signFor(CERTNAME, INSTANCE, challenge())).state, 'pending');
});

Sign('should spend the challenge right before signing, and not sign when it was spent meanwhile', async ({ pki, server, ca }) => {
  const certname = 'web-i-0a5e.autoami';
  server.submit(certname, genuine(pki, certname, 'i-0a5e'));
  // Policy autosign, deciding on the same CSR, spent it first.
  const lost = challenge(false);
  assert.equal(await ca.signFor(certname, 'i-0a5e', lost), { state: 'pending', reason: `the challenge for ${certname} was spent meanwhile, by policy autosign signing this CSR` });
  assert.is(lost.spent.count, 1);
  assert.equal(certificateStatusCalls(server), []);
  const won = challenge();
  assert.equal(await ca.signFor(certname, 'i-0a5e', won), { state: 'signed' });
  assert.is(won.spent.count, 1);
  // A refusal spends nothing.
  const refused = challenge();
  server.submit('web-i-0b5e.autoami', pki.makeCsr({ certname: 'web-i-0b5e.autoami', extensions: { [PP_INSTANCE_ID_OID]: 'i-0b5e' }, challengePassword: WRONG }));
  assert.is((await ca.signFor('web-i-0b5e.autoami', 'i-0b5e', refused)).state, 'refused');
  assert.is(refused.spent.count, 0);
});

Sign('should answer pending while no CSR has arrived', async ({ server, ca }) => {
  const result = await ca.signFor('db-i-0fff.autoami', 'i-0fff', challenge());
  assert.equal(result, { state: 'pending', reason: 'no CSR from db-i-0fff.autoami is waiting' });
  assert.equal(certificateStatusCalls(server), []);
});

Sign('should refuse a CSR whose pp_instance_id is another instance, never sign it and remove it', async ({ pki, server, ca }) => {
  const certname = 'web-i-0aaa.autoami';
  server.submit(certname, genuine(pki, certname, 'i-0bbb'));
  const result = await ca.signFor(certname, 'i-0aaa', challenge());
  assert.is(result.state, 'refused');
  assert.match(result.state === 'refused' ? result.reason : '', /pp_instance_id "i-0bbb", but the bake instance is "i-0aaa"; the CSR was removed/);
  assert.equal(certificateStatusCalls(server).map((c) => [c.method, c.status]), [['DELETE', 204]]);
  assert.is(server.state(certname), undefined);
});

Sign('should refuse a CSR whose CN is not the certname', async ({ pki, server, ca }) => {
  const certname = 'web-i-0ccc.autoami';
  server.submit(certname, pki.makeCsr({ certname: 'puppet.example.com', extensions: { [PP_INSTANCE_ID_OID]: 'i-0ccc' }, challengePassword: SECRET }));
  const result = await ca.signFor(certname, 'i-0ccc', challenge());
  assert.equal(result, { state: 'refused', reason: `the CSR names CN "puppet.example.com", not "web-i-0ccc.autoami"; ${REMOVED}` });
  assert.equal(certificateStatusCalls(server).map((c) => c.method), ['DELETE']);
});

Sign('should refuse a CSR without pp_instance_id', async ({ pki, server, ca }) => {
  const certname = 'web-i-0ddd.autoami';
  server.submit(certname, pki.makeCsr({ certname, challengePassword: SECRET }));
  const result = await ca.signFor(certname, 'i-0ddd', challenge());
  assert.equal(result, { state: 'refused', reason: `the CSR for web-i-0ddd.autoami carries no pp_instance_id; expected "i-0ddd"; ${REMOVED}` });
  assert.equal(certificateStatusCalls(server).map((c) => c.method), ['DELETE']);
});

Sign('should refuse a CSR forged from the certname alone, without or with a wrong secret, and sign the genuine one after it', async ({ pki, server, ca }) => {
  const certname = 'web-i-0fab.autoami';
  // Everything in it is readable from the certname: the group, the instance id.
  const forgeries = [
    [pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: 'i-0fab' } }), 'carries no challengePassword'],
    [pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: 'i-0fab' }, challengePassword: WRONG }), 'carries a wrong challengePassword'],
    [pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: 'i-0fab' }, challengePassword: SECRET.slice(0, -1) }), 'carries a wrong challengePassword'],
  ] as const;
  for (const [forged, why] of forgeries) {
    server.calls.length = 0;
    server.submit(certname, forged);
    const result = await ca.signFor(certname, 'i-0fab', challenge());
    assert.equal(result, { state: 'refused', reason: `the CSR for ${certname} ${why}; ${REMOVED}` });
    assert.not.ok(certificateStatusCalls(server).some((c) => c.method === 'PUT'), 'never signed');
    assert.is(server.state(certname), undefined, 'removed, so the agent can submit its own');
  }
  // The agent's own CSR takes the place the forgery held.
  server.submit(certname, genuine(pki, certname, 'i-0fab'));
  assert.equal(await ca.signFor(certname, 'i-0fab', challenge()), { state: 'signed' });
});

Sign('should say so when a refused CSR cannot be removed, and still not sign it', async ({ pki, server, options }) => {
  const certname = 'web-i-0403.autoami';
  server.submit(certname, pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: 'i-0403' } }));
  const agent = pki.issue('agent02');
  // auth.conf lets this client read CSRs but not certificate_status: the DELETE is refused.
  const result = await new PuppetCa({ ...options, hostcert: agent.cert, hostprivkey: agent.key }).signFor(certname, 'i-0403', challenge());
  assert.is(result.state, 'refused');
  assert.match(result.state === 'refused' ? result.reason : '', /carries no challengePassword; the CSR stays: DELETE .* answered 403/);
  assert.is(server.state(certname), 'requested');
});

Sign('should never sign a certname it was not asked for', async ({ pki, server, ca }) => {
  server.submit('intruder.example.com', genuine(pki, 'intruder.example.com', 'i-0eee'));
  assert.is((await ca.signFor('web-i-0eee.autoami', 'i-0eee', challenge())).state, 'pending');
  assert.is(server.state('intruder.example.com'), 'requested');
  assert.equal(certificateStatusCalls(server), []);
});

Sign('should URL-encode the certname', async ({ server, ca }) => {
  assert.is((await ca.signFor('a/../../b c', 'i-1', challenge())).state, 'pending');
  assert.equal(server.calls.map((c) => [c.endpoint, c.certname]), [['certificate_request', 'a/../../b c']]);
});

Sign('should fail naming the URL, the 403 and auth.conf when the CA refuses the client certificate', async ({ pki, server, options }) => {
  const foreign = makePki('Some other CA').issue('master');
  const agent = pki.issue('agent01');
  for (const client of [foreign, agent]) {
    const certname = `web-${client === agent ? 'i-0a' : 'i-0f'}.autoami`;
    server.submit(certname, pki.makeCsr({ certname, extensions: { [PP_INSTANCE_ID_OID]: certname.slice(4, -8) }, challengePassword: SECRET }));
    const ca = new PuppetCa({ ...options, hostcert: client.cert, hostprivkey: client.key });
    const error = await rejects(ca.signFor(certname, certname.slice(4, -8), challenge()));
    assert.instance(error, PuppetApiError);
    assert.match(error.message, `PUT https://127.0.0.1:${server.port}/puppet-ca/v1/certificate_status/${certname} answered 403`);
    assert.match(error.message, /auth\.conf must allow/);
    assert.is(server.state(certname), 'requested');
  }
});

Sign('should fail naming the URL when the server certificate is not from localcacert', async ({ server, options }) => {
  const ca = new PuppetCa({ ...options, localcacert: makePki('Untrusted').caCert });
  const error = await rejects(ca.signFor(CERTNAME, INSTANCE, challenge()));
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
  const error = await rejects(new PuppetCa({ ...options, port, timeoutMs: 300 }).signFor(CERTNAME, INSTANCE, challenge()));
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  assert.instance(error, PuppetApiError);
  assert.is(error.message, `GET https://127.0.0.1:${port}/puppet-ca/v1/certificate_request/${CERTNAME}: no reply within 300 ms`);
});

Sign('should name the config key of an unreadable hostcert', async ({ options }) => {
  const error = await rejects(new PuppetCa({ ...options, hostcert: '/nonexistent/master.pem' }).signFor(CERTNAME, INSTANCE, challenge()));
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
  server.submit(CERTNAME, genuine(pki, CERTNAME, INSTANCE));
  assert.is((await ca.signFor(CERTNAME, INSTANCE, challenge())).state, 'signed');
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
  const result = checkCsrForBake('-----BEGIN CERTIFICATE REQUEST-----\nMIIBAA==\n-----END CERTIFICATE REQUEST-----', CERTNAME, INSTANCE, HASH);
  assert.is(result.state, 'refused');
  assert.match(result.state === 'refused' ? result.reason : '', /^the CSR for .* is unusable: malformed CSR: /);
  assert.equal(checkCsrForBake('', CERTNAME, '', HASH), { state: 'refused', reason: `no instance id is known for ${CERTNAME}` });
});

Check('should refuse a CSR that lacks the secret or carries a wrong one, naming the certname, and allow the right one', () => {
  const pki = makePki();
  const csr = (challengePassword?: string) => pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE }, challengePassword });
  assert.equal(checkCsrForBake(csr(), CERTNAME, INSTANCE, HASH), { state: 'refused', reason: `the CSR for ${CERTNAME} carries no challengePassword` });
  for (const wrong of [WRONG, SECRET.toUpperCase(), `${SECRET}0`, SECRET.slice(1), 'x', HASH]) {
    const result = checkCsrForBake(csr(wrong), CERTNAME, INSTANCE, HASH);
    assert.equal(result, { state: 'refused', reason: `the CSR for ${CERTNAME} carries a wrong challengePassword` }, wrong);
  }
  assert.equal(checkCsrForBake(csr(SECRET), CERTNAME, INSTANCE, HASH), { state: 'allowed' });
  // As Puppet writes it (PrintableString) or as a UTF8String: the text is what counts.
  assert.equal(checkCsrForBake(pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE }, challengePassword: SECRET, stringMask: 'nombstr' }), CERTNAME, INSTANCE, HASH), { state: 'allowed' });
});

Check('should allow nothing while no challenge is outstanding, or against a stored value that is not a digest', () => {
  const pki = makePki();
  const csr = pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE }, challengePassword: SECRET });
  assert.equal(checkCsrForBake(csr, CERTNAME, INSTANCE, null), {
    state: 'refused',
    reason: `no challenge is outstanding for ${CERTNAME}: its secret was used already, or the bake is past signing`,
  });
  // A store holding the secret itself (never written so) must not make it a match either.
  assert.is(checkCsrForBake(csr, CERTNAME, INSTANCE, SECRET).state, 'refused');
});

Check('should refuse a CSR whose signature does not match its key', () => {
  const pki = makePki();
  const csr = pki.makeCsr({ certname: 'web-i-0abc.autoami', extensions: { [PP_INSTANCE_ID_OID]: 'i-0abc' }, challengePassword: SECRET });
  assert.equal(checkCsrForBake(csr, 'web-i-0abc.autoami', 'i-0abc', HASH), { state: 'allowed' });
  const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  for (let at = der.indexOf('i-0abc'); at >= 0; at = der.indexOf('i-0abc')) der.write('i-0abd', at);
  const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(checkCsrForBake(forged, 'web-i-0abd.autoami', 'i-0abd', HASH), {
    state: 'refused',
    reason: 'the CSR for web-i-0abd.autoami is not signed by the key it carries',
  });
});

Check.run();
