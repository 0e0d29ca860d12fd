/** How a bake instance gets its Puppet agent configured and run once. */

export interface BootstrapScriptInput {
  /** `<group>-<instance id>.autoami` */
  readonly certname: string;
  /** The Puppet server the agent runs against (the group's puppetserver). */
  readonly server: string;
  readonly serverPort: number;
  readonly instanceId: string;
  /** The group name, requested as the pp_role trusted fact. */
  readonly role: string;
  readonly environment: string | null;
  /** Seconds the agent waits for its certificate to be signed. */
  readonly waitForCert: number;
  /** The bake's one-time secret, put in the CSR as challengePassword. Never logged. */
  readonly challenge: string;
  /** A verification: the agent only reports what it would change (--noop). */
  readonly noop: boolean;
}

export type BootstrapOutcome =
  | { readonly state: 'ran'; readonly exitCode: number; readonly output: string }
  | { readonly state: 'failed'; readonly reason: string; readonly output: string };

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly login: string;
  readonly keyfile: string;
}
