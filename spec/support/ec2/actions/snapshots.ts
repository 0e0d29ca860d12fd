import { Ec2Fault } from '../errors.ts';
import type { SnapshotRecord } from '../model.ts';
import { applyFilters, paginate, type FilterFields } from '../query.ts';
import { snapshotXml } from '../render.ts';
import type { ActionContext, Handler } from './common.ts';

const SNAPSHOT_FILTERS: FilterFields<SnapshotRecord> = {
  'snapshot-id': (s) => s.snapshotId,
  status: (s) => s.state,
  'owner-id': (s) => s.ownerId,
  'volume-id': (s) => s.volumeId,
  'volume-size': (s) => String(s.volumeSize),
  description: (s) => s.description,
  progress: (s) => s.progress,
  encrypted: (s) => String(s.encrypted),
};

/** Base AMIs' snapshots belong to their publisher and are private, so only our own are visible. */
function own(ctx: ActionContext, snapshot: SnapshotRecord): boolean {
  return snapshot.ownerId === ctx.state.accountId;
}

export const describeSnapshots: Handler = (p, ctx) => {
  const ids = p.strings('SnapshotId');
  if (ids.length && p.has('MaxResults')) {
    throw new Ec2Fault('InvalidParameterCombination', 'The parameter snapshotSet cannot be used with the parameter maxResults');
  }
  let records: SnapshotRecord[];
  if (ids.length) {
    records = ctx.state.findSnapshots(ids);
    const hidden = records.filter((s) => !own(ctx, s)).map((s) => s.snapshotId);
    if (hidden.length) throw new Ec2Fault('InvalidSnapshot.NotFound', `The snapshot '${hidden.join(', ')}' does not exist.`);
  } else {
    records = [...ctx.state.snapshots.values()].filter((s) => own(ctx, s));
  }
  const owners = p.strings('Owner');
  if (owners.length) {
    const wanted = new Set(owners.map((o) => (o === 'self' ? ctx.state.accountId : o)));
    records = records.filter((s) => wanted.has(s.ownerId));
  }
  const page = paginate(applyFilters(records, p, SNAPSHOT_FILTERS), p, ctx.action);
  return { snapshotSet: page.items.map(snapshotXml), nextToken: page.nextToken };
};

export const deleteSnapshot: Handler = (p, ctx) => {
  const [snapshot] = ctx.state.findSnapshots([p.req('SnapshotId')]);
  if (!snapshot || !own(ctx, snapshot)) {
    throw new Ec2Fault('InvalidSnapshot.NotFound', `The snapshot '${p.req('SnapshotId')}' does not exist.`);
  }
  const user = ctx.state.imageUsingSnapshot(snapshot.snapshotId);
  if (user) {
    throw new Ec2Fault('InvalidSnapshot.InUse', `The snapshot ${snapshot.snapshotId} is currently in use by ${user.imageId}`);
  }
  ctx.state.snapshots.delete(snapshot.snapshotId);
  return { return: true };
};
