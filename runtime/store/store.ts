/**
 * The store contract. Two backends keep it: MySQL (shared by several masters) and the
 * embedded file store (one sidecar). One contract suite in spec/ runs against both.
 */

export interface GroupSettings {
  readonly name: string;
  /** The AMI the group's next bake starts from; starts as `base_image`. */
  readonly image: string;
  readonly type: string;
  readonly keyname: string;
  readonly keyfile: string;
  readonly login: string;
  readonly puppetserver: string;
  readonly node_group: string;
  readonly enc_user: string;
  readonly enc_pass: string;
  readonly enc_server: string | null;
  readonly enc_port: number;
  readonly region: string;
  readonly subnet: string | null;
  readonly security_group: string | null;
  readonly bootstrap: 'ssh' | 'userdata';
  readonly keep: number;
}

export interface Group extends GroupSettings {
  /** The image the group was defined with; retention never removes it. */
  readonly base_image: string;
  /** ISO-8601 UTC. */
  readonly created_at: string;
  readonly updated_at: string;
}

export type StoreBackend = 'mysql' | 'embedded';

export interface Store {
  readonly backend: StoreBackend;
  /** Bring the schema up to date (forward only) and make the store ready. */
  open(): Promise<void>;
  /** Throws ConflictError(field 'name') when the name is taken. */
  createGroup(settings: GroupSettings): Promise<Group>;
  getGroup(name: string): Promise<Group | undefined>;
  listGroups(): Promise<Group[]>;
  /** True when a group was removed. */
  deleteGroup(name: string): Promise<boolean>;
  /** Throws StoreUnavailableError when the backend cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Copies only the known fields, so stray properties from callers never get stored. */
export function newGroup(s: GroupSettings, now: string): Group {
  return {
    name: s.name, image: s.image, base_image: s.image, type: s.type, keyname: s.keyname, keyfile: s.keyfile,
    login: s.login, puppetserver: s.puppetserver, node_group: s.node_group, enc_user: s.enc_user,
    enc_pass: s.enc_pass, enc_server: s.enc_server ?? null, enc_port: s.enc_port, region: s.region,
    subnet: s.subnet ?? null, security_group: s.security_group ?? null, bootstrap: s.bootstrap, keep: s.keep,
    created_at: now, updated_at: now,
  };
}
