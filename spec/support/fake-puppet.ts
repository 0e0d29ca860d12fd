/**
 * Puppet as the bake core sees it, in memory: the CA, the classifier and the agent run each
 * answer as the spec scripts them and record every call.
 */
import type { AgentRun, Bootstrapper } from '../../runtime/bake/env.ts';
import type { BootstrapOutcome } from '../../runtime/bootstrap/types.ts';
import type { CertificateAuthority, Challenge, Classifier, PinResult, SignResult } from '../../runtime/puppet/types.ts';
import type { Bake, Group, GroupSettings } from '../../runtime/store/store.ts';

/** The CA as the bake sees it: answers as scripted, spends the challenge before it signs, as the real one. */
export class FakeCa implements CertificateAuthority {
  answer: 'sign' | 'pending' | 'refuse' = 'sign';
  readonly requests: { certname: string; instanceId: string; hash: string }[] = [];
  readonly signed: string[] = [];
  readonly cleaned: string[] = [];
  /** Set: every clean fails with it. */
  cleanFailure: Error | null = null;

  async signFor(certname: string, instanceId: string, challenge: Challenge): Promise<SignResult> {
    this.requests.push({ certname, instanceId, hash: challenge.hash });
    if (this.answer === 'pending') return { state: 'pending', reason: `no CSR from ${certname} is waiting` };
    if (this.answer === 'refuse') return { state: 'refused', reason: 'the CSR carries another challenge; the CSR was removed' };
    if (!(await challenge.spend())) return { state: 'pending', reason: 'the challenge was spent meanwhile' };
    this.signed.push(certname);
    return { state: 'signed' };
  }

  async clean(certname: string): Promise<void> {
    if (this.cleanFailure) throw this.cleanFailure;
    this.cleaned.push(certname);
  }
}

export class FakeClassifier implements Classifier {
  readonly pinned = new Set<string>();
  readonly pins: string[] = [];
  readonly unpins: string[] = [];
  /** Set: every unpin fails with it. */
  unpinFailure: Error | null = null;

  async check(_group: GroupSettings): Promise<void> {}

  async pin(group: Group, certname: string): Promise<PinResult> {
    this.pins.push(certname);
    this.pinned.add(certname);
    return { state: 'pinned', groupId: `node-group-${group.node_group}` };
  }

  async unpin(_group: Group, certname: string): Promise<void> {
    this.unpins.push(certname);
    if (this.unpinFailure) throw this.unpinFailure;
    this.pinned.delete(certname);
  }
}

export interface SshRun extends AgentRun {
  readonly group: Group;
  readonly host: string;
  readonly deadline: number;
  readonly challenge: string;
}

/** The agent run: over ssh it ends as `agent` says (at once, by default); user-data is plain text naming the secret. */
export class FakeBootstrapper implements Bootstrapper {
  readonly runs: SshRun[] = [];
  readonly userDatas: { group: string; server: string; challenge: string; noop: boolean }[] = [];
  agent: (run: SshRun) => Promise<BootstrapOutcome> = async () => ({ state: 'ran', exitCode: 2, output: 'Notice: Applied catalog' });

  overSsh(agent: AgentRun, group: Group, host: string, deadline: number, challenge: string): Promise<BootstrapOutcome> {
    const run = { ...agent, group, host, deadline, challenge };
    this.runs.push(run);
    return this.agent(run);
  }

  userData(group: Group, server: string, challenge: string, noop: boolean): string {
    this.userDatas.push({ group: group.name, server, challenge, noop });
    return `#!/bin/sh\n# ${group.name} against ${server}${noop ? ' (noop)' : ''}\nchallenge=${challenge}\n`;
  }
}
