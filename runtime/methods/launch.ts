/** `puppet node_aws launch GROUP`: one plain instance of the group from its current image. */
import type { Clock } from '../clock.ts';
import type { CallContext } from '../dispatcher.ts';
import { NotFoundError } from '../errors.ts';
import type { Ec2Source } from '../ec2/source.ts';
import type { ParamsFor } from '../interface/methods.ts';
import type { IdSource } from '../random.ts';
import type { Store } from '../store/store.ts';
import { TAG } from '../tags.ts';

const BOOT_WAIT_MS = 15 * 60_000;

export function launchHandler(deps: { store: Store; ec2: Ec2Source; clock: Clock; ids: IdSource }) {
  return async (params: ParamsFor<'group.launch'>, context: CallContext) => {
    const name = params.name;
    const group = await deps.store.getGroup(name);
    if (!group) throw new NotFoundError('group', name, 'name');
    const ec2 = deps.ec2.get(group.region);
    const launchId = deps.ids();
    const launched = await ec2.launch({
      image: group.image,
      type: group.type,
      keyname: group.keyname,
      subnet: group.subnet,
      securityGroup: group.security_group,
      userData: null,
      clientToken: launchId,
      // A launch, not a bake: nothing in AutoAMI will image or terminate it.
      tags: { [TAG.name]: `${group.name}-launch`, [TAG.group]: group.name, [TAG.launch]: launchId },
      // The group's image carries its own encryption; the launch takes it as it is.
      encryptRoot: null,
    }, { signal: context.signal });
    context.progress({ line: `Launched ${launched.id} from ${group.image}; waiting for it to run` });
    const running = await ec2.waitForInstance(launched.id, ['running'], { deadline: deps.clock.now() + BOOT_WAIT_MS, signal: context.signal });
    return {
      group: group.name,
      image: group.image,
      instance_id: running.id,
      dns: running.publicDns ?? running.publicIp ?? running.privateIp,
      public_ip: running.publicIp,
      private_ip: running.privateIp,
    };
  };
}
