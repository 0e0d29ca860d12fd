/** The chaos run's final checks: each passes a clean settled world and names what is wrong in a broken one. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bake, Group, ImageRecord as LineageRow } from '../runtime/store/store.ts';
import type { SentReport } from './chaos/agent.ts';
import { runChecks, type CheckName, type Settled } from './chaos/checks.ts';

const BASE = 'ami-0abc1234';

function bake(id: string, group: string, extra: Partial<Bake> = {}): Bake {
  return {
    id, run_id: 'run-1', group_name: group, region: 'us-east-1', parent_image: BASE, deadline: 0,
    state: 'done', outcome: 'baked', reason: 'baked', instance_id: `i-${id}`, certname: `cert-${id}`,
    image_id: `ami-${id}`, image_name: `name-${id}`,
    report: { transaction_uuid: `tx-${id}` } as unknown as Bake['report'],
    lease_owner: null, lease_expires: null, created_at: 0, updated_at: 0, finished_at: 1, challenge_hash: null,
    distribution: {}, check: null, base_update: null, verify_step: null, verify_instance_id: null, verify_certname: null, verify_report: null,
    ...extra,
  };
}

const group = (name: string, image: string): Group => ({ name, image, base_image: BASE } as unknown as Group);
const row = (imageId: string, groupName: string, bakeId: string): LineageRow => ({ image_id: imageId, group_name: groupName, bake_id: bakeId } as unknown as LineageRow);
const sent = (bakeId: string, groupName: string, final: string | null, transactionUuid = `tx-${bakeId}`): SentReport => ({ bakeId, group: groupName, certname: `cert-${bakeId}`, transactionUuid, answers: final ? [final] : [], final });

/** Two groups: a baked, on its new image; b whose image failed, still on its base. */
function clean(): Settled {
  return {
    groups: [group('a', 'ami-1'), group('b', BASE)],
    bakes: [bake('1', 'a'), bake('2', 'b', { outcome: 'failed', image_id: 'ami-2' })],
    lineage: new Map([['a', [row('ami-1', 'a', '1')]], ['b', []]]),
    instances: [
      { instanceId: 'i-1', state: 'terminated', tags: new Map([['autoami:bake', '1']]) },
      { instanceId: 'i-2', state: 'shutting-down', tags: new Map([['autoami:bake', '2']]) },
    ],
    images: [
      { imageId: 'ami-1', name: 'name-1', state: 'available', tags: new Map([['autoami:bake', '1']]) },
      { imageId: 'ami-2', name: 'name-2', state: 'failed', tags: new Map([['autoami:bake', '2']]) },
    ],
    sent: [sent('1', 'a', 'recorded'), sent('2', 'b', 'duplicate')],
    sawWaiting: new Set(['1', '2']),
  };
}

function failing(settled: Settled): Partial<Record<CheckName, readonly string[]>> {
  return Object.fromEntries(runChecks(settled).filter((check) => !check.passed).map((check) => [check.name, check.problems]));
}

const Checks = suite('chaos checks');

Checks('should pass a clean world', () => {
  assert.equal(failing(clean()), {});
});

Checks('should name a bake that is not done', () => {
  const world = clean();
  const problems = failing({ ...world, bakes: [bake('1', 'a', { state: 'cleaning', outcome: null }), world.bakes[1]!] });
  assert.equal(problems.named_state, ['bake 1 (a) left in cleaning']);
});

Checks('should name an instance left running or stopped', () => {
  const world = clean();
  const problems = failing({ ...world, instances: [...world.instances, { instanceId: 'i-9', state: 'stopped', tags: new Map([['autoami:bake', '2']]) }] });
  assert.equal(problems.no_instance_left, ['instance i-9 of bake 2 is stopped']);
});

Checks('should name a second AMI of a bake and a name on two AMIs', () => {
  const world = clean();
  const problems = failing({ ...world, images: [...world.images, { imageId: 'ami-3', name: 'name-1', state: 'available', tags: new Map([['autoami:bake', '1']]) }] });
  assert.equal(problems.no_duplicate_ami, ['bake 1 has 2 AMIs: ami-1, ami-3', 'AMI name name-1 is on 2 AMIs: ami-1, ami-3']);
});

Checks('should name a recorded report that is not on its bake', () => {
  const world = clean();
  const problems = failing({ ...world, sent: [sent('1', 'a', 'recorded', 'tx-other'), world.sent[1]!] });
  assert.equal(problems.no_report_lost, ['report tx-other (recorded) is not on bake 1 (a), which has tx-1']);
});

Checks('should name a bake that waited for a report and ended without one for no other reason', () => {
  const world = clean();
  const problems = failing({ ...world, bakes: [world.bakes[0]!, bake('2', 'b', { outcome: 'unchanged', report: null })], sent: [world.sent[0]!] });
  assert.equal(problems.no_report_lost, ['bake 2 (b) reached awaiting_report, has no report and ended unchanged']);
  const timedOut = failing({ ...world, bakes: [world.bakes[0]!, bake('2', 'b', { outcome: 'timed_out', report: null })], sent: [world.sent[0]!] });
  assert.is(timedOut.no_report_lost, undefined);
});

Checks('should name a group on an image it did not bake', () => {
  const world = clean();
  const problems = failing({ ...world, groups: [group('a', 'ami-1'), group('b', 'ami-1')] });
  assert.equal(problems.group_image_own, ['group b is on ami-1, neither its base ami-0abc1234 nor in its lineage']);
});

Checks.run();
