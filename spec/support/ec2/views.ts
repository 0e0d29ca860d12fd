import type { ImageRecord, InstanceRecord, KeyPairRecord, LaunchTemplateRecord, SecurityGroupRecord, SnapshotRecord } from './model.ts';
import type { Ec2State } from './state.ts';

/** What a test can read of one region: copies of the records, in creation order. */
export interface Ec2RegionView {
  region: string;
  instances(): InstanceRecord[];
  instance(instanceId: string): InstanceRecord | undefined;
  images(): ImageRecord[];
  image(imageId: string): ImageRecord | undefined;
  snapshots(): SnapshotRecord[];
  snapshot(snapshotId: string): SnapshotRecord | undefined;
  launchTemplates(): LaunchTemplateRecord[];
  launchTemplate(launchTemplateId: string): LaunchTemplateRecord | undefined;
  keyPairs(): KeyPairRecord[];
  /** The region's `default` group first. */
  securityGroups(): SecurityGroupRecord[];
  /** The instance's user data decoded from base64, as the instance would read it. */
  userData(instanceId: string): string | undefined;
}

const bySeq = <T extends { seq: number }>(records: Iterable<T>): T[] =>
  [...records].sort((a, b) => a.seq - b.seq).map((r) => structuredClone(r));

const copy = <T>(record: T | undefined): T | undefined => (record === undefined ? undefined : structuredClone(record));

/** `state` is looked up on every call, so a region's state is still made only on first use. */
export function regionView(region: string, state: () => Ec2State): Ec2RegionView {
  return {
    region,
    instances: () => bySeq(state().instances.values()),
    instance: (id) => copy(state().instances.get(id)),
    images: () => bySeq(state().images.values()),
    image: (id) => copy(state().images.get(id)),
    snapshots: () => bySeq(state().snapshots.values()),
    snapshot: (id) => copy(state().snapshots.get(id)),
    launchTemplates: () => bySeq(state().launchTemplates.values()),
    launchTemplate: (id) => copy(state().launchTemplates.get(id)),
    keyPairs: () => bySeq(state().keyPairs.values()),
    securityGroups: () => bySeq(state().securityGroups.values()),
    userData: (id) => {
      const encoded = state().instances.get(id)?.userData;
      return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
    },
  };
}
