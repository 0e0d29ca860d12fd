/**
 * A Puppet agent run on an instance AutoAMI launched: the bake's own, or the noop run that
 * verifies its image. Both sign the instance's CSR only against the bake's one-time
 * challenge, and over ssh both hand the secret over on ssh's stdin.
 */
import { challengeHash } from '../puppet/challenge.ts';
import { sleepUnlessAborted } from '../sleep.ts';
import { waitingAgent, type Bake, type Group } from '../store/store.ts';
import type { BootstrapOutcome } from '../bootstrap/types.ts';
import type { InstanceInfo, LaunchSpec } from '../ec2/types.ts';
import { TAG } from '../tags.ts';
import type { BakeEnv, StepEnv } from './env.ts';

export interface AgentLaunch {
  readonly image: string;
  /**
   * The RunInstances ClientToken, from which the instance's one-time secret is derived too
   * (`env.secrets`): every attempt, after a kill or on another sidecar sharing the store,
   * sends the same user-data with the same token, and EC2 answers with the first instance.
   */
  readonly token: string;
  /** What the instance is for, in its Name tag: `bake` or `verify`. */
  readonly purpose: string;
  readonly noop: boolean;
  readonly encryptRoot: LaunchSpec['encryptRoot'];
}

/**
 * Launches an instance of the group whose agent the bake will run. In userdata mode the
 * secret rides in the user-data, fixed at RunInstances: its hash is recorded first, and
 * the caller records the instance only while that hash stands (`expected`).
 */
export async function launchForAgent(env: StepEnv, bake: Bake, group: Group, what: AgentLaunch): Promise<{ instance: InstanceInfo; expected?: string } | 'lost'> {
  let userData: string | null = null;
  let expected: string | undefined;
  if (group.bootstrap === 'userdata') {
    const secret = env.secrets(what.token);
    expected = challengeHash(secret);
    if (!(await env.store.setChallenge(bake.id, env.owner, bake.state, expected))) return 'lost';
    userData = env.bootstrap.userData(group, group.puppetserver, secret, what.noop);
  }
  const spec: LaunchSpec = {
    image: what.image,
    type: group.type,
    keyname: group.keyname,
    subnet: group.subnet,
    securityGroup: group.security_group,
    userData,
    clientToken: what.token,
    tags: { [TAG.name]: `autoami-${group.name}-${what.purpose}`, [TAG.group]: group.name, [TAG.bake]: bake.id },
    encryptRoot: what.encryptRoot,
  };
  const instance = await env.ec2.get(bake.region).launch(spec, { signal: env.signal });
  return expected === undefined ? { instance } : { instance, expected };
}

/** Where ssh reaches an instance: its public name, else its public or private address. */
export const addressOf = (instance: InstanceInfo): string | null => instance.publicDns ?? instance.publicIp ?? instance.privateIp;

/**
 * Signs the CSR of the instance the bake waits for when it shows up; the agent waits for it
 * meanwhile. Only with a challenge outstanding, which the signature spends (its hash is
 * cleared just before), so the secret signs nothing else. A refused CSR is removed by the
 * CA, and the agent asks again.
 */
export async function signWhenReady(env: BakeEnv, bake: Bake): Promise<'signed' | 'pending' | 'refused'> {
  const hash = bake.challenge_hash;
  const agent = waitingAgent(bake);
  if (!env.ca || !agent || !hash) return 'pending';
  let spent = false;
  const challenge = { hash, spend: async () => (spent = await env.store.clearChallenge(bake.id, hash)) };
  let result;
  try {
    result = await env.ca.signFor(agent.certname, agent.instanceId, challenge);
  } catch (error) {
    // Spent, but the signature failed: the secret is still unused, and the agent still waits for it.
    if (spent) await env.store.setChallenge(bake.id, env.owner, bake.state, hash).catch(() => undefined);
    throw error;
  }
  if (result.state === 'refused') env.log.warn('certificate refused', { bake: bake.id, certname: agent.certname, reason: result.reason });
  return result.state;
}

export type AgentRunResult = { readonly state: 'ran'; readonly outcome: BootstrapOutcome } | { readonly state: 'lost' };

/**
 * Runs the bootstrap script over ssh on the instance the bake waits for, signing its CSR
 * while the agent waits. The secret's hash is recorded before ssh carries it, so a rerun
 * after an interruption hands over the same secret. `lost`: another sidecar moved the bake.
 */
export async function runAgentOverSsh(env: StepEnv, bake: Bake, group: Group, host: string, secret: string, noop: boolean): Promise<AgentRunResult> {
  const current = await env.store.setChallenge(bake.id, env.owner, bake.state, challengeHash(secret));
  const agent = current ? waitingAgent(current) : null;
  if (!current || !agent) return { state: 'lost' };
  let ended = false;
  const signing = (async () => {
    // Signing ends with the engine too: the store may close under it, and whoever resumes the bake signs.
    while (!ended && !env.signal.aborted && env.clock.now() < bake.deadline) {
      // Read each time: the challenge to sign with is the one the store holds now.
      const now = () => env.store.getBake(bake.id).then((fresh) => (fresh ? signWhenReady(env, fresh) : ('pending' as const)));
      // Refused is no reason to stop: the CSR is removed and the agent submits its own.
      if ((await now().catch(() => 'pending' as const)) === 'signed') return;
      await sleepUnlessAborted(env.sleep, env.tickMs, env.signal);
    }
  })();
  const run = { ...agent, noop };
  const outcome = await env.bootstrap.overSsh(run, group, host, bake.deadline, secret).finally(() => (ended = true));
  await signing;
  return { state: 'ran', outcome };
}
