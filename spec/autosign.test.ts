import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { challengeHash } from '../runtime/puppet/challenge.ts';
import { PP_INSTANCE_ID_OID, PP_ROLE_OID } from '../runtime/puppet/types.ts';
import { makePki, type Pki } from './support/pki.ts';
import { startTestSidecar, writeConfig, type TestSidecar } from './support/sidecar.ts';

const BIN = fileURLToPath(new URL('../runtime/bin/autoami.js', import.meta.url));
const INSTANCE = 'i-0123456789abcdef0';
const CERTNAME = `web-${INSTANCE}.autoami`;
/** The bake's one-time secret; the store holds only HASH. */
const SECRET = '5e'.repeat(32);
const HASH = challengeHash(SECRET);

interface Context {
  sidecar: TestSidecar;
  pki: Pki;
}

function autosign(configFile: string, certname: string, csr: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'autosign', certname, '--config', configFile], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(csr);
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

const Autosign = suite<Context>('autoami autosign');

Autosign.before(async (context) => {
  context.pki = makePki();
  context.sidecar = await startTestSidecar(undefined, { puppet: { classifier: 'none' } });
  const store = context.sidecar.store;
  // The engine must not drive this bake: its lease stays with the spec.
  const deadline = Date.now() + 600_000;
  await store.createBake({ id: 'bake-autosign', run_id: 'run', group_name: 'web', region: 'us-east-1', parent_image: 'ami-0abc1234', deadline });
  await store.acquireLease('bake-autosign', 'spec', deadline, Date.now());
  await store.transition('bake-autosign', 'spec', 'queued', { state: 'awaiting_report', instance_id: INSTANCE, certname: CERTNAME });
});

// A signature spends the secret: each test starts with it outstanding again.
Autosign.before.each(async ({ sidecar }) => {
  assert.ok(await sidecar.store.setChallenge('bake-autosign', 'spec', 'awaiting_report', HASH));
});

/** The instance's own CSR, with `over` changed. */
const csrOf = (pki: Pki, over: { certname?: string; instance?: string; challengePassword?: string | null } = {}) =>
  pki.makeCsr({
    certname: over.certname ?? CERTNAME,
    extensions: { [PP_INSTANCE_ID_OID]: over.instance ?? INSTANCE, [PP_ROLE_OID]: 'web' },
    ...(over.challengePassword === null ? {} : { challengePassword: over.challengePassword ?? SECRET }),
  });

Autosign.after(({ sidecar }) => sidecar.stop());

Autosign('should sign the CSR of the instance a bake waits for', async ({ sidecar, pki }) => {
  const result = await autosign(sidecar.configFile, CERTNAME, csrOf(pki));
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stderr, /signing web-i-0123456789abcdef0\.autoami/);
  assert.not.ok(result.stderr.includes(SECRET));
});

Autosign('should refuse a CSR forged from the certname alone, naming the certname, whatever secret it guesses', async ({ sidecar, pki }) => {
  for (const [challengePassword, why] of [[null, 'carries no challengePassword'], ['6f'.repeat(32), 'carries a wrong challengePassword'], [HASH, 'carries a wrong challengePassword']] as const) {
    const result = await autosign(sidecar.configFile, CERTNAME, csrOf(pki, { challengePassword }));
    assert.is(result.status, 1, result.stderr);
    assert.is(result.stderr, `autoami autosign: not signing ${CERTNAME}: the CSR for ${CERTNAME} ${why}\n`);
  }
  // Refusals spend nothing: the instance's own CSR is still signed.
  assert.is((await sidecar.store.getBake('bake-autosign'))?.challenge_hash, HASH);
  assert.is((await autosign(sidecar.configFile, CERTNAME, csrOf(pki))).status, 0);
});

Autosign('should sign once per secret: a second CSR carrying it is refused', async ({ sidecar, pki }) => {
  assert.is((await autosign(sidecar.configFile, CERTNAME, csrOf(pki))).status, 0);
  assert.is((await sidecar.store.getBake('bake-autosign'))?.challenge_hash, null, 'spent');
  const again = await autosign(sidecar.configFile, CERTNAME, csrOf(pki));
  assert.is(again.status, 1);
  assert.match(again.stderr, `not signing ${CERTNAME}: no challenge is outstanding for ${CERTNAME}`);
});

Autosign('should sign only one of two CSRs racing with the same secret', async ({ sidecar, pki }) => {
  const results = await Promise.all([csrOf(pki), csrOf(pki), csrOf(pki)].map((csr) => autosign(sidecar.configFile, CERTNAME, csr)));
  assert.equal(results.map((result) => result.status).sort(), [0, 1, 1], results.map((result) => result.stderr).join(''));
});

Autosign('should refuse a CSR whose pp_instance_id is another instance', async ({ sidecar, pki }) => {
  const csr = csrOf(pki, { instance: 'i-0fffffffffffffff0' });
  const result = await autosign(sidecar.configFile, CERTNAME, csr);
  assert.is(result.status, 1);
  assert.match(result.stderr, /not signing .*i-0fffffffffffffff0/);
});

Autosign('should refuse an unknown certname', async ({ sidecar, pki }) => {
  const other = 'db-i-0aaaaaaaaaaaaaaa0.autoami';
  const csr = pki.makeCsr({ certname: other, extensions: { [PP_INSTANCE_ID_OID]: 'i-0aaaaaaaaaaaaaaa0' } });
  const result = await autosign(sidecar.configFile, other, csr);
  assert.is(result.status, 1);
  assert.match(result.stderr, /not a bake AutoAMI is waiting for/);
});

Autosign('should work as puppet.conf autosign calls it: the certname alone', async ({ sidecar, pki }) => {
  const csr = csrOf(pki);
  const command = fileURLToPath(new URL('../runtime/bin/autoami-autosign.js', import.meta.url));
  const child = spawn(command, [CERTNAME], { env: { ...process.env, AUTOAMI_CONFIG: sidecar.configFile }, stdio: ['pipe', 'ignore', 'pipe'] });
  child.stdin.end(csr);
  const status = await new Promise((resolve) => child.on('close', resolve));
  assert.is(status, 0);
});

Autosign('should refuse when the sidecar cannot be asked', async ({ pki }) => {
  const down = await startTestSidecar();
  await down.stop();
  const csr = pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE } });
  const result = await autosign(down.configFile, CERTNAME, csr);
  assert.is(result.status, 1);
  assert.match(result.stderr, /not signing/);
});

/** Autosign against something on the sidecar's socket that answers `reply` and hangs up. */
async function autosignAgainstImpostor(pki: Pki, reply: string): Promise<{ status: number | null; stderr: string }> {
  const { file, socket } = writeConfig();
  mkdirSync(dirname(socket), { recursive: true });
  const impostor = createServer((connection) => connection.end(reply));
  await new Promise<void>((resolve) => impostor.listen(socket, resolve));
  try {
    const csr = pki.makeCsr({ certname: CERTNAME, extensions: { [PP_INSTANCE_ID_OID]: INSTANCE } });
    return await autosign(file, CERTNAME, csr);
  } finally {
    impostor.close();
  }
}

Autosign('should refuse, naming the line, when what answers on the socket is not the sidecar', async ({ pki }) => {
  const result = await autosignAgainstImpostor(pki, 'HTTP/1.1 400 Bad Request\r\n\r\n');
  assert.is(result.status, 1);
  assert.match(result.stderr, /^autoami autosign: not signing web-i-0123456789abcdef0\.autoami: the sidecar answered a line that is not JSON: HTTP\/1\.1 400/);
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
});

Autosign('should refuse, saying so, when the socket hangs up without an answer', async ({ pki }) => {
  const result = await autosignAgainstImpostor(pki, '');
  assert.is(result.status, 1);
  assert.match(result.stderr, /^autoami autosign: not signing web-i-0123456789abcdef0\.autoami: the sidecar closed the connection without an answer\n$/);
});

Autosign.run();
