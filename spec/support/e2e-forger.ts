/**
 * The forger of spec/e2e.test.ts: someone who knows a bake instance's certname and races its
 * agent with CSRs of their own, through Puppet Server's CA API.
 */
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { PP_INSTANCE_ID_OID, PP_ROLE_OID } from '../../runtime/puppet/types.ts';
import { randomSecret } from '../../runtime/random.ts';
import { bake, newGroup, type Context } from './e2e-loop.ts';
import { bootInstances, privateAgentArgs } from './instance-boot.ts';
import { tempDir } from './tmp.ts';

/**
 * Puppet Server's CA API as anyone who can reach it may use it (no client certificate), or,
 * `asMaster`, with the master's certificate: the test watching, which auth.conf lets read CSRs.
 */
export function caCall(context: Context, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: string, asMaster = false): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Type': 'text/plain' };
    const client = asMaster ? { cert: readFileSync(context.server.hostcert), key: readFileSync(context.server.hostprivkey) } : {};
    const options = { host: '127.0.0.1', port: context.server.port, path: `/puppet-ca/v1/${path}`, method, headers, rejectUnauthorized: false, timeout: 60_000, ...client };
    const req = request(options, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `probe` until it answers something; only bounds a hang (the sidecar looks every poll interval). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    if (Date.now() > deadline) throw new Error(`${what}: not within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Has the CSR of `certname` a status other than 200? Watched as the master: auth.conf keeps CSRs from anyone else. */
async function csrGone(context: Context, certname: string): Promise<true | undefined> {
  const waiting = await caCall(context, 'GET', `certificate_request/${certname}`, undefined, true);
  if (waiting.status === 404) return true;
  if (waiting.status !== 200) throw new Error(`reading the CSR of ${certname} was answered ${waiting.status}: ${waiting.text}`);
  return undefined;
}

export const autosignSaid = (context: Context) => readFileSync(context.autosignLog, 'utf8').split('\n').filter((line) => line.startsWith('autoami autosign:'));

/**
 * Someone who reads an instance's certname (say, from a log or the EC2 console) and races
 * its agent: a CSR with that certname and pp_instance_id, first without a challengePassword,
 * then with a guessed one. Each is refused and stays unsigned. With the CA API the sidecar
 * removes it; in policy-only mode nothing does (an operator would, as the test does here).
 * Only then does the instance's own agent start.
 */
export async function forge(context: Context, instanceId: string, mode: 'ca' | 'policy'): Promise<void> {
  const group = context.endpoint.instance(instanceId)?.tags.get('autoami:group') ?? '';
  const certname = `${group}-${instanceId}.autoami`;
  for (const challengePassword of [null, randomSecret()]) {
    const csr = context.forger.makeCsr({
      certname, extensions: { [PP_INSTANCE_ID_OID]: instanceId, [PP_ROLE_OID]: group }, keyType: 'rsa', stringMask: 'nombstr',
      ...(challengePassword === null ? {} : { challengePassword }),
    });
    const said = autosignSaid(context).length;
    const put = await caCall(context, 'PUT', `certificate_request/${certname}`, csr);
    if (put.status !== 200) throw new Error(`the forged CSR for ${certname} was answered ${put.status}: ${put.text}`);
    if (mode === 'ca') {
      await until(`the sidecar removing the forged CSR for ${certname}`, () => csrGone(context, certname));
    } else {
      // Puppet Server asked the autosign command as the CSR came in: it has answered by now.
      if (autosignSaid(context).length !== said + 1) throw new Error(`the autosign command was not asked about ${certname}: ${autosignSaid(context).join('\n')}`);
      if (await csrGone(context, certname)) throw new Error(`the forged CSR for ${certname} is gone, not waiting unsigned`);
      const removed = await caCall(context, 'DELETE', `certificate_status/${certname}`, undefined, true);
      if (removed.status !== 204) throw new Error(`removing the forged CSR for ${certname} was answered ${removed.status}: ${removed.text}`);
    }
    const certificate = await caCall(context, 'GET', `certificate/${certname}`);
    if (certificate.status !== 404) throw new Error(`${certname} has a certificate after a forged CSR (${certificate.status})`);
    context.forgeries.push({ certname, challengePassword });
  }
}

/** Bakes `group` (user data) with a forger racing each of its instances; the certname of the instance baked. */
export async function bakeForged(context: Context, group: string, mode: 'ca' | 'policy'): Promise<{ certname: string; instanceId: string }> {
  // A forgery that goes wrong fails the test at once, not when the bake times out.
  let forgeFailed!: (error: unknown) => void;
  const forging = new Promise<never>((_, reject) => (forgeFailed = reject));
  forging.catch(() => undefined);
  const beforeBoot = (instanceId: string) => forge(context, instanceId, mode).catch((error: unknown) => (forgeFailed(error), Promise.reject(error)));
  const booter = bootInstances(context.endpoint, privateAgentArgs(tempDir(`e2e-${group}-agent`)), { beforeBoot });
  let baked: { instanceId: string };
  try {
    await newGroup(context, group, 'userdata');
    baked = await Promise.race([bake(context, group, 'baked'), forging]);
  } finally {
    await booter.stop();
    context.outputs.push(...booter.booted.map((boot) => boot.output));
  }
  assert.is(booter.booted.length, 1);
  assert.is(booter.booted[0]!.exitCode, 0, booter.booted[0]!.output);
  const certname = `${group}-${baked.instanceId}.autoami`;
  assert.equal(context.forgeries.filter((forgery) => forgery.certname === certname).map((forgery) => forgery.challengePassword === null), [true, false]);
  // One certificate for the certname, and no forged CSR was ever signed (checked after each one): it is the agent's.
  const inventory = readFileSync(join(context.server.cadir, 'inventory.txt'), 'utf8');
  assert.is(inventory.split('\n').filter((line) => line.endsWith(`/CN=${certname}`)).length, 1, inventory);
  return { certname, instanceId: baked.instanceId };
}
