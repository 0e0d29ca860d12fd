/**
 * The one-time CSR challenge (the fix for CSRs forged from the certname alone): the secret
 * reaches the instance only through its bootstrap, the store keeps only its hash, both
 * signing paths sign only a CSR carrying it, once, and a launch whose answer was lost leaves
 * no instance behind whose secret nobody knows any more.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import type { DatabaseConfig } from '../runtime/config.ts';
import { Ec2Regions } from '../runtime/ec2/regions.ts';
import type { Ec2, LaunchSpec } from '../runtime/ec2/types.ts';
import { StoreUnavailableError } from '../runtime/errors.ts';
import { Metrics } from '../runtime/metrics.ts';
import { challengeHash, challengeKey, challengeMatches, derivedSecrets } from '../runtime/puppet/challenge.ts';
import { PP_INSTANCE_ID_OID, PP_ROLE_OID } from '../runtime/puppet/types.ts';
import { randomSecret } from '../runtime/random.ts';
import type { Bake } from '../runtime/store/store.ts';
import { inState, reportFor, waitForBake } from './support/bake-harness.ts';
import { startEc2Endpoint, type Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { startMariadb } from './support/mariadb.ts';
import { makePki, type Pki } from './support/pki.ts';
import { startPuppetCa, type PuppetCaStandIn } from './support/puppet-ca.ts';
import { callOnce } from './support/rpc.ts';
import { startTestSidecar, type TestSidecar } from './support/sidecar.ts';
import { tempDir } from './support/tmp.ts';

/** The sidecar's secrets in these tests: derived as in production, from a key of the test's own. */
const secretOf = derivedSecrets(challengeKey(undefined, tempDir()));

const Unit = suite('challenge');

Unit('should keep a sha256 digest that matches the exact secret and nothing else', () => {
  const secret = randomSecret();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.is.not(randomSecret(), secret);
  const hash = challengeHash(secret);
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.not.ok(hash.includes(secret));
  assert.ok(challengeMatches(secret, hash));
  for (const other of [secret.toUpperCase(), `${secret} `, secret.slice(1), '', hash, randomSecret()]) assert.not.ok(challengeMatches(other, hash), other);
  // A stored value that is not a digest (the secret itself, say) matches nothing.
  for (const stored of [secret, hash.slice(7), `${hash}00`, '']) assert.not.ok(challengeMatches(secret, stored), stored);
});

Unit('should derive one secret per bake that sidecars sharing a key agree on, and no other key can', () => {
  const bakeId = '0b0e7c1e-5a1d-4c62-9d3e-2f7a4b1c9e08';
  const shared = challengeKey('the-db-password', tempDir());
  const [first, second] = [derivedSecrets(shared), derivedSecrets(challengeKey('the-db-password', tempDir()))];
  assert.match(first(bakeId), /^[0-9a-f]{64}$/);
  assert.is(first(bakeId), second(bakeId), 'two masters on one MySQL hand out the same secret');
  assert.is.not(first(bakeId), first('1b0e7c1e-5a1d-4c62-9d3e-2f7a4b1c9e08'));
  assert.is.not(first(bakeId), derivedSecrets(challengeKey('another-password', tempDir()))(bakeId));
  // Without MySQL: a key file made once, 0600, and kept across restarts.
  const dir = tempDir();
  const embedded = challengeKey(undefined, dir);
  assert.equal(challengeKey(undefined, dir), embedded);
  assert.is(statSync(join(dir, 'challenge.key')).mode & 0o777, 0o600);
  assert.is.not(derivedSecrets(embedded)(bakeId), derivedSecrets(challengeKey(undefined, tempDir()))(bakeId));
});

Unit.run();

interface Context {
  endpoint: Ec2Endpoint;
  pki: Pki;
  ca: PuppetCaStandIn;
  db: DatabaseConfig;
  sidecar: TestSidecar;
  /** Every secret the sidecar made, in order: the test knows what only instances should. */
  issued: string[];
  /** RunInstances of the next N launches reaches EC2, but its answer is lost, as when the sidecar dies right after. */
  loseLaunches: number;
}

const Bakes = suite<Context>('bake challenge');

/** The EC2 of the sidecar, whose launch can launch and then fail as if the sidecar had died. */
function losingEc2(context: Context, regions: Ec2Regions) {
  return {
    get(region: string): Ec2 {
      const real = regions.get(region);
      return new Proxy(real, {
        get(target, key) {
          // Bound: the adapter keeps its state in private fields, which a Proxy as `this` cannot reach.
          if (key !== 'launch') {
            const value: unknown = Reflect.get(target, key, target);
            return typeof value === 'function' ? value.bind(target) : value;
          }
          return async (spec: LaunchSpec) => {
            const instance = await target.launch(spec);
            if (context.loseLaunches > 0) {
              context.loseLaunches--;
              // Waited out and retried, exactly as a sidecar that resumes the bake after a kill.
              throw new StoreUnavailableError(`the answer for ${instance.id} was lost`);
            }
            return instance;
          };
        },
      });
    },
  };
}

Bakes.before(async (context) => {
  context.issued = [];
  context.loseLaunches = 0;
  context.endpoint = await startEc2Endpoint({ images: ['ami-0abc1234'], bootMs: 50, imageMs: 150, terminateMs: 20, terminatedVisibleMs: 3_600_000 });
  context.pki = makePki();
  context.ca = await startPuppetCa(context.pki);
  context.db = await (await startMariadb()).createDatabase();
  const aws = { region: 'us-east-1', endpoint: context.endpoint.url, profile: undefined };
  const regions = new Ec2Regions(aws, { pollIntervalMs: 20, metrics: Metrics.off() });
  const { pki, ca } = context;
  context.sidecar = await startTestSidecar(
    context.db,
    {
      aws: { region: 'us-east-1', endpoint: context.endpoint.url },
      // The CA path: the sidecar signs through the CA API (here the stand-in) as the master.
      puppet: { server: '127.0.0.1', port: ca.port, hostcert: pki.master.cert, hostprivkey: pki.master.key, localcacert: pki.caCert, classifier: 'none' },
      bake: { poll_interval: '50ms', lease: '2s', report_timeout: '60m' },
    },
    {
      ec2: losingEc2(context, regions),
      secrets: (bakeId) => {
        const secret = secretOf(bakeId);
        context.issued.push(secret);
        return secret;
      },
    },
  );
});

Bakes.after(async ({ sidecar, endpoint, ca }) => {
  await sidecar.stop();
  await Promise.all([endpoint.stop(), ca.close()]);
});

async function bakeOf(context: Context, group: string): Promise<Bake> {
  const created = await callOnce(context.sidecar.socketPath, 'group.create', seedGroup({ name: group, bootstrap: 'userdata' }));
  assert.ok(created.result, JSON.stringify(created.error));
  const run = await callOnce(context.sidecar.socketPath, 'bake.run', { groups: [group] });
  assert.ok(run.result, JSON.stringify(run.error));
  return waitForBake(context.sidecar.store, run.result.bakes[0].bake as string, inState('awaiting_report'));
}

/** The secret in an instance's user-data: what cloud-init hands the bootstrap script. */
function userDataSecret(endpoint: Ec2Endpoint, instanceId: string): string {
  const match = /^CHALLENGE_YAML='"([0-9a-f]{64})"'$/m.exec(endpoint.userData(instanceId) ?? '');
  assert.ok(match, `no challenge in the user-data of ${instanceId}`);
  return match[1]!;
}

/** A CSR for the bake's certname and instance, as anyone who reads the certname can make it, with or without a secret. */
function csrFor(pki: Pki, bake: Bake, challengePassword?: string): string {
  return pki.makeCsr({ certname: bake.certname!, extensions: { [PP_INSTANCE_ID_OID]: bake.instance_id!, [PP_ROLE_OID]: bake.group_name }, challengePassword });
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rawBakes(db: DatabaseConfig): Promise<string> {
  const server = await startMariadb();
  const conn = await createConnection({ socketPath: server.socketPath, user: 'root', database: db.name });
  try {
    return JSON.stringify((await conn.query<RowDataPacket[]>('SELECT * FROM `bakes`'))[0]);
  } finally {
    await conn.end();
  }
}

Bakes('should put the secret in the user-data only, keep its hash, and sign through the CA API only the CSR carrying it', async (context) => {
  const { endpoint, pki, ca, sidecar } = context;
  const bake = await bakeOf(context, 'ca-path');
  const secret = userDataSecret(endpoint, bake.instance_id!);
  assert.ok(context.issued.includes(secret));
  assert.is(bake.challenge_hash, challengeHash(secret));
  const raw = await rawBakes(context.db);
  assert.ok(raw.includes(bake.challenge_hash!) && !raw.includes(secret), 'the bakes table holds the hash, not the secret');
  assert.not.ok(JSON.stringify([...endpoint.instance(bake.instance_id!)!.tags]).includes(secret), 'no tag carries it');

  // Forged ahead of the agent from what the certname tells: refused, never signed, and removed.
  const signedBy = () => ca.calls.filter((call) => call.certname === bake.certname && call.method === 'PUT');
  for (const forged of [csrFor(pki, bake), csrFor(pki, bake, randomSecret())]) {
    ca.submit(bake.certname!, forged);
    await until('the forged CSR removed', () => (ca.state(bake.certname!) === undefined ? true : undefined));
    assert.equal(signedBy(), []);
    assert.is((await sidecar.store.getBake(bake.id))?.challenge_hash, bake.challenge_hash, 'a refusal spends nothing');
  }
  // The agent asks again with its own CSR, which carries the secret from its user-data.
  ca.submit(bake.certname!, csrFor(pki, bake, secret));
  await until('the genuine CSR signed', () => (ca.state(bake.certname!) === 'signed' ? true : undefined));
  assert.equal(signedBy().map((call) => call.status), [204]);
  const spent = await until('the challenge spent', async () => {
    const now = await sidecar.store.getBake(bake.id);
    return now?.challenge_hash === null ? now : undefined;
  });
  assert.is(spent.state, 'awaiting_report');

  const reply = await callOnce(sidecar.socketPath, 'report.submit', reportFor(bake.certname!));
  assert.is(reply.result?.state, 'recorded', JSON.stringify(reply));
  const done = await waitForBake(sidecar.store, bake.id, inState('done'));
  assert.is(done.outcome, 'baked', done.reason ?? '');
  assert.not.ok((await rawBakes(context.db)).includes(secret));
});

Bakes('should answer policy autosign the same way: the secret signs once, nothing else signs', async (context) => {
  const { endpoint, pki, sidecar } = context;
  const bake = await bakeOf(context, 'policy-path');
  const secret = userDataSecret(endpoint, bake.instance_id!);
  const check = async (csr: string) => (await callOnce(sidecar.socketPath, 'csr.check', { certname: bake.certname, csr })).result as { sign: boolean; reason: string };
  assert.equal(await check(csrFor(pki, bake)), { sign: false, reason: `the CSR for ${bake.certname} carries no challengePassword` });
  assert.equal(await check(csrFor(pki, bake, randomSecret())), { sign: false, reason: `the CSR for ${bake.certname} carries a wrong challengePassword` });
  assert.equal(await check(csrFor(pki, bake, secret)), { sign: true, reason: `bake ${bake.id} on ${bake.instance_id}` });
  assert.is((await sidecar.store.getBake(bake.id))?.challenge_hash, null);
  const again = await check(csrFor(pki, bake, secret));
  assert.is(again.sign, false);
  assert.match(again.reason, `no challenge is outstanding for ${bake.certname}`);
});

Bakes('should forget an unspent challenge when the bake leaves the states where signing can happen', async (context) => {
  const { sidecar, endpoint, pki } = context;
  const bake = await bakeOf(context, 'unsigned');
  assert.ok(bake.challenge_hash);
  const secret = userDataSecret(endpoint, bake.instance_id!);
  // The run happened without a certificate from us (puppet apply): the bake ends, and its secret with it.
  await callOnce(sidecar.socketPath, 'report.submit', reportFor(bake.certname!, { status: 'unchanged', changed: 0, changed_resources: [] }));
  const cleaning = await waitForBake(sidecar.store, bake.id, inState('cleaning', 'done'));
  assert.is(cleaning.challenge_hash, null);
  const check = await callOnce(sidecar.socketPath, 'csr.check', { certname: bake.certname, csr: csrFor(pki, bake, secret) });
  assert.is(check.result?.sign, false);
  assert.is((await waitForBake(sidecar.store, bake.id, inState('done'))).outcome, 'unchanged');
});

Bakes('should adopt the instance of a launch whose answer was lost: one instance, the same secret and token', async (context) => {
  const { endpoint, pki, sidecar } = context;
  context.loseLaunches = 1;
  const bake = await bakeOf(context, 'lost-launch');
  const instances = endpoint.instances().filter((instance) => instance.tags.get('autoami:bake') === bake.id);
  assert.is(instances.length, 1, 'the retried launch got the first instance back');
  assert.is(instances[0]!.clientToken, bake.id);
  const secret = userDataSecret(endpoint, bake.instance_id!);
  assert.is(bake.challenge_hash, challengeHash(secret));
  const check = await callOnce(sidecar.socketPath, 'csr.check', { certname: bake.certname, csr: csrFor(pki, bake, secret) });
  assert.is(check.result?.sign, true, JSON.stringify(check));
});

Bakes.run();
