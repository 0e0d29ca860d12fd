/** Everything a bake step touches, passed in so tests control time, EC2 and Puppet. */
import type { Clock } from '../clock.ts';
import type { Ec2Source } from '../ec2/source.ts';
import type { PublishSource } from '../publish/source.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { CertificateAuthority, Classifier } from '../puppet/types.ts';
import type { SecretSource } from '../random.ts';
import type { Sleep } from '../sleep.ts';
import type { Bake, Group, Store } from '../store/store.ts';
import type { BootstrapOutcome } from '../bootstrap/types.ts';
import type { CatalogCheckEnv } from './catalog-check.ts';
import type { Deadlines } from './deadlines.ts';
import type { WaitTimes } from './wait-times.ts';
import type { LaunchLedger } from './launch-ledger.ts';

/** The instance an agent run is for: the bake's own, or (noop) the one verifying its image. */
export interface AgentRun {
  readonly certname: string;
  readonly instanceId: string;
  readonly noop: boolean;
}

/** `challenge`: the bake's one-time secret, which the script puts in the CSR (never logged). */
export interface Bootstrapper {
  /** ssh mode: run the bootstrap script on the instance; resolves when the agent run ended. */
  overSsh(run: AgentRun, group: Group, host: string, deadline: number, challenge: string): Promise<BootstrapOutcome>;
  /** userdata mode: the script the instance runs at first boot; `noop` for a verification. */
  userData(group: Group, server: string, challenge: string, noop: boolean): string;
}

export interface BakeEnv {
  readonly store: Store;
  readonly ec2: Ec2Source;
  /** SSM, Auto Scaling and launch templates, for publishing to channel latest. */
  readonly publish: PublishSource;
  /** Absent when the config names no Puppet CA: signing is then left to policy autosign. */
  readonly ca: CertificateAuthority | null;
  readonly classifier: Classifier;
  /** Absent when the config has no master certificate to compile catalogs with: bakes then launch unchecked. */
  readonly catalogCheck: CatalogCheckEnv | null;
  readonly bootstrap: Bootstrapper;
  readonly clock: Clock;
  readonly sleep: Sleep;
  /** Each bake's one-time CSR challenge. */
  readonly secrets: SecretSource;
  readonly log: Logger;
  readonly deadlines: Deadlines;
  /** This sidecar's lease owner name: unique per process. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly tickMs: number;
  readonly metrics: Metrics;
  /** What the group's EC2 waits took before, so each looks closely only when its change is due. One per process. */
  readonly waits: WaitTimes;
  /** The bakes this process launched in one go: no stray instances to look for. One per process. */
  readonly launches: LaunchLedger;
}

/** What a step runs with: the engine's env, and the signal that ends its waits when the engine stops. */
export interface StepEnv extends BakeEnv {
  readonly signal: AbortSignal;
}
