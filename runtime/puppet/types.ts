/**
 * What the bake engine needs from Puppet Server: the CA (sign a bake instance's CSR,
 * clean its certificate afterwards) and the PE classifier (pin the node into its group).
 */
import type { Group } from '../store/store.ts';

/** Private enterprise OIDs Puppet assigns to trusted-fact extensions. */
export const PP_INSTANCE_ID_OID = '1.3.6.1.4.1.34380.1.1.2';
export const PP_ROLE_OID = '1.3.6.1.4.1.34380.1.1.13';

export interface CsrInfo {
  readonly subjectCommonName: string | null;
  /** Extension requests by OID, values decoded as text. */
  readonly extensions: Readonly<Record<string, string>>;
}

export type SignResult =
  | { readonly state: 'signed' }
  /** No CSR yet: the agent has not submitted one; poll again. */
  | { readonly state: 'pending'; readonly reason: string }
  | { readonly state: 'refused'; readonly reason: string };

export interface CertificateAuthority {
  /** Signs certname's pending CSR only when its pp_instance_id is `instanceId`. */
  signFor(certname: string, instanceId: string): Promise<SignResult>;
  /** Revokes and removes certname's certificate (a terminated bake instance); missing is fine. */
  clean(certname: string): Promise<void>;
}

export type PinResult = { readonly state: 'pinned'; readonly groupId: string } | { readonly state: 'skipped'; readonly reason: string };

export interface Classifier {
  /** Pins certname into the group's node group (PE classifier), found by name. */
  pin(group: Group, certname: string): Promise<PinResult>;
  unpin(group: Group, certname: string): Promise<void>;
}
