/**
 * Group definitions: the handlers behind new_group, delete_group and groups. Params arrive
 * validated by the dispatcher; what is left here is shaping records and hiding secrets.
 */
import { NotFoundError } from './errors.ts';
import type { Params } from './interface/schema.ts';
import type { Group, GroupSettings, Store } from './store/store.ts';

export const REDACTED = '[redacted]';

export type PublicGroup = Omit<Group, 'enc_pass'> & { enc_pass: typeof REDACTED };

export function redact(group: Group): PublicGroup {
  return { ...group, enc_pass: REDACTED };
}

const optional = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function settingsFrom(params: Params): GroupSettings {
  return {
    name: params.name as string,
    image: params.image as string,
    type: params.type as string,
    keyname: params.keyname as string,
    keyfile: params.keyfile as string,
    login: params.login as string,
    puppetserver: params.puppetserver as string,
    node_group: params.node_group as string,
    enc_user: params.enc_user as string,
    enc_pass: params.enc_pass as string,
    enc_server: optional(params.enc_server),
    enc_port: params.enc_port as number,
    region: params.region as string,
    subnet: optional(params.subnet),
    security_group: optional(params.security_group),
    bootstrap: params.bootstrap as GroupSettings['bootstrap'],
    keep: params.keep as number,
    template: optional(params.template),
    keep_failed: params.keep_failed as boolean,
  };
}

export function groupHandlers(store: Store) {
  return {
    async 'group.create'(params: Params): Promise<PublicGroup> {
      return redact(await store.createGroup(settingsFrom(params)));
    },
    async 'group.delete'(params: Params): Promise<{ name: string; deleted: true }> {
      const name = params.name as string;
      if (!(await store.deleteGroup(name))) throw new NotFoundError('group', name, 'name');
      return { name, deleted: true };
    },
    async 'group.list'(): Promise<PublicGroup[]> {
      return (await store.listGroups()).map(redact);
    },
  };
}
