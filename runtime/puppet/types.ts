/**
 * What the bake engine needs from Puppet Server: the CA (sign a bake instance's CSR,
 * clean its certificate afterwards) and the PE classifier (pin the node into its group).
 */
import type { Group, GroupSettings } from '../store/store.ts';

/** Private enterprise OIDs Puppet assigns to trusted-fact extensions. */
export const PP_INSTANCE_ID_OID = '1.3.6.1.4.1.34380.1.1.2';
export const PP_ROLE_OID = '1.3.6.1.4.1.34380.1.1.13';

export interface CsrInfo {
  readonly subjectCommonName: string | null;
  /** Extension requests by OID, values decoded as text. */
  readonly extensions: Readonly<Record<string, string>>;
  /** The PKCS#9 challengePassword attribute's text; null when the CSR has none. */
  readonly challengePassword: string | null;
}

export type SignResult =
  | { readonly state: 'signed' }
  /** No CSR yet: the agent has not submitted one; poll again. */
  | { readonly state: 'pending'; readonly reason: string }
  | { readonly state: 'refused'; readonly reason: string };

/** A bake's outstanding one-time challenge, as a signer sees it. */
export interface Challenge {
  /** What the store keeps of the secret (runtime/puppet/challenge.ts). */
  readonly hash: string;
  /**
   * Spends it, atomically, right before a signature: false when it was spent meanwhile
   * (policy autosign signing the same CSR) or replaced, and then nothing may be signed.
   */
  spend(): Promise<boolean>;
}

export interface CertificateAuthority {
  /**
   * Signs certname's pending CSR only when its pp_instance_id is `instanceId` and its
   * challengePassword is the challenge's secret, which it spends first. A CSR it refuses
   * is removed, so the instance's own agent can ask again in its place.
   */
  signFor(certname: string, instanceId: string, challenge: Challenge): Promise<SignResult>;
  /** Revokes and removes certname's certificate (a terminated bake instance); missing is fine. */
  clean(certname: string): Promise<void>;
}

export type PinResult = { readonly state: 'pinned'; readonly groupId: string } | { readonly state: 'skipped'; readonly reason: string };

export interface Classifier {
  /**
   * Proves a group's node group can be pinned to (login, console, node group), so a
   * mistake shows at new_group rather than as a failed bake; throws PuppetApiError.
   */
  check(group: GroupSettings): Promise<void>;
  /** Pins certname into the group's node group (PE classifier), found by name. */
  pin(group: Group, certname: string): Promise<PinResult>;
  unpin(group: Group, certname: string): Promise<void>;
}
