/**
 * `puppet autoami list`: unfinished bakes from the store, each with its instance as EC2
 * sees it now. An instance EC2 no longer knows is reported as gone, never dropped.
 */
import type { Ec2Source } from '../ec2/source.ts';
import type { Bake, Store } from '../store/store.ts';
import { isoTime } from './iso-time.ts';

export interface BakeRow {
  bake: string;
  group: string;
  state: string;
  region: string;
  instance_id: string | null;
  instance_state: string;
  dns: string | null;
  updated_at: string;
}

export function bakeListHandler(deps: { store: Store; ec2: Ec2Source }) {
  return async (): Promise<BakeRow[]> => {
    const bakes = await deps.store.listBakes({ active: true });
    const byRegion = new Map<string, Bake[]>();
    for (const bake of bakes) {
      const inRegion = byRegion.get(bake.region);
      if (inRegion) inRegion.push(bake);
      else byRegion.set(bake.region, [bake]);
    }
    const seen = new Map<string, { state: string; dns: string | null }>();
    for (const [region, group] of byRegion) {
      const ids = group.flatMap((bake) => (bake.instance_id ? [bake.instance_id] : []));
      if (ids.length === 0) continue;
      for (const [id, instance] of await deps.ec2.get(region).describeInstances(ids)) {
        seen.set(id, { state: instance.state, dns: instance.publicDns });
      }
    }
    return bakes.map((bake) => {
      const instance = bake.instance_id ? seen.get(bake.instance_id) : undefined;
      return {
        bake: bake.id,
        group: bake.group_name,
        state: bake.state,
        region: bake.region,
        instance_id: bake.instance_id,
        instance_state: bake.instance_id === null ? 'not launched' : (instance?.state ?? 'gone'),
        dns: instance?.dns ?? null,
        updated_at: isoTime(bake.updated_at),
      };
    });
  };
}
