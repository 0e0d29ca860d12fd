/**
 * Group definitions: the handlers behind new_group, delete_group and groups. Params arrive
 * validated by the dispatcher; what is left here is shaping records and hiding secrets.
 */
import { NotFoundError, PuppetApiError } from '../errors.ts';
import type { Params } from '../interface/schema.ts';
import type { Classifier } from '../puppet/types.ts';
import type { Group, GroupSettings, Store } from '../store/store.ts';

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

/** The console check fails in PE's words; this says what to do on a master without PE. */
async function checkClassification(classifier: Classifier, settings: GroupSettings): Promise<void> {
  try {
    await classifier.check(settings);
  } catch (error) {
    if (!(error instanceof PuppetApiError)) throw error;
    throw new PuppetApiError(
      `puppet.classifier is pe, but group ${settings.name} cannot be pinned into node group ${JSON.stringify(settings.node_group)}: ${error.message}. Without Puppet Enterprise set puppet.classifier: none (class autoami: puppet_classifier => 'none'), and the pp_role trusted fact carries the group`,
      { status: error.status, field: 'enc_server', cause: error },
    );
  }
}

export function groupHandlers(store: Store, classifier: Classifier) {
  return {
    async 'group.create'(params: Params): Promise<PublicGroup> {
      const settings = settingsFrom(params);
      await checkClassification(classifier, settings);
      return redact(await store.createGroup(settings));
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
