/**
 * Publication survives its sidecar: SIGKILL at each step of `publishing`, the service having
 * acted but its answer not yet back, then a new sidecar: each parameter written once per
 * region, one launch template version, one instance refresh, and the bake `baked`.
 */
import './support/aws-env.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Bake, Publication, TargetStep } from '../runtime/store/store.ts';
import { inState, waitForBake } from './support/bake-harness.ts';
import { closeCrashRig, crashConfig, openCrashRig, until, type CrashRig } from './support/crash-rig.ts';
import { call, HOME, startBake } from './support/delivery-rig.ts';
import type { Ec2Endpoint } from './support/ec2-endpoint.ts';
import { seedGroup } from './support/group-params.ts';
import { defaultVersion, makeAsg, makeTemplate } from './support/publication-rig.ts';
import { spawnSidecar } from './support/sidecar-process.ts';

type Context = CrashRig;

const COPY = 'eu-west-1';
/** Far longer than the kill takes, so the sidecar dies with the service having acted and its answer on the way. */
const HELD_MS = 30_000;

const Crash = suite<Context>('publication after SIGKILL');

Crash.before((context) => openCrashRig(context, { bootMs: 100, imageMs: 200, copyMs: 200, terminateMs: 50, ssmValidateMs: 30, refreshStepMs: 150 }));
Crash.after(closeCrashRig);

type Kind = 'ssm' | 'launch-template' | 'instance-refresh';

/** The step each target of `kind` is at, in every entry of that kind. */
const stepsOf = (publication: Publication | undefined, kind: Kind): TargetStep[] =>
  Object.entries(publication?.progress ?? {}).filter(([key]) => key.startsWith(`${kind}:`)).map(([, progress]) => progress.step);
const allAt = (publication: Publication | undefined, kind: Kind, step: TargetStep) => {
  const steps = stepsOf(publication, kind);
  return steps.length > 0 && steps.every((each) => each === step);
};

/** Which call is held, and when the kill may land: the store shows the step and the service has acted. */
interface KillPoint {
  readonly step: TargetStep;
  readonly kind: Kind;
  readonly action: string;
  readonly acted: (endpoint: Ec2Endpoint, calls: number) => boolean;
}

const POINTS: readonly KillPoint[] = [
  { step: 'writing', kind: 'ssm', action: 'PutParameter', acted: (_, calls) => calls >= 2 },
  { step: 'confirming', kind: 'ssm', action: 'AddTagsToResource', acted: (_, calls) => calls >= 2 },
  { step: 'versioning', kind: 'launch-template', action: 'CreateLaunchTemplateVersion', acted: (_, calls) => calls >= 1 },
  { step: 'defaulting', kind: 'launch-template', action: 'ModifyLaunchTemplate', acted: (_, calls) => calls >= 1 },
  { step: 'starting', kind: 'instance-refresh', action: 'StartInstanceRefresh', acted: (_, calls) => calls >= 1 },
  { step: 'following', kind: 'instance-refresh', action: 'DescribeInstanceRefreshes', acted: (_, calls) => calls >= 1 },
];

for (const point of POINTS) {
  Crash(`should publish once, with nothing missing, when the sidecar is killed in ${point.kind} ${point.step}`, async (context) => {
    const { endpoint, store } = context;
    const { file, socket } = crashConfig(context, HOME);
    endpoint.faults.clear();
    endpoint.counts.reset();
    // Short: the certname, and the report's transaction id made from it, must stay within their limits.
    const group = `kill-${POINTS.indexOf(point)}`;
    const parameter = `/${group}/ami`;
    const template = await makeTemplate(endpoint, HOME, `${group}-fleet`);
    makeAsg(endpoint, HOME, `${group}-asg`, template);
    let sidecar = await spawnSidecar(file, socket);
    await call(socket, 'group.create', seedGroup({
      name: group, bootstrap: 'userdata', region: HOME, copy_to: [COPY], ssm_parameter: [parameter], launch_template: [template], instance_refresh: [`${group}-asg`],
    }));
    endpoint.faults.set(point.action, { replyDelayMs: HELD_MS });
    const bakeId = await startBake(socket, store, group);
    await until(`the bake reaching ${point.kind} ${point.step}`, async () => {
      const bake: Bake | undefined = await store.getBake(bakeId);
      if (bake?.state !== 'publishing') return false;
      return allAt(await store.getPublication(bakeId), point.kind, point.step) && point.acted(endpoint, endpoint.counts.ok(point.action));
    });
    const killed = new Promise((resolve) => sidecar.child.once('exit', resolve));
    sidecar.child.kill('SIGKILL');
    await killed;
    assert.is((await store.getBake(bakeId))?.state, 'publishing', 'the kill came later than planned');
    endpoint.faults.clear();
    sidecar = await spawnSidecar(file, socket);
    try {
      const done = await waitForBake(store, bakeId, inState('done'));
      assert.is(done.outcome, 'baked', `${done.outcome}: ${done.reason}`);
      const copy = (await store.listImages(group)).find((image) => image.image_id === done.image_id)?.copies[COPY];
      for (const [region, image] of [[HOME, done.image_id], [COPY, copy]] as const) {
        const versions = endpoint.ssm.parameters(region).get(parameter)?.versions ?? [];
        assert.equal(versions.map((version) => version.value), [image], `${region}: the parameter was written ${versions.length} times`);
      }
      const now = defaultVersion(endpoint, HOME, template);
      assert.equal([now.count, now.number, now.imageId], [2, 2, done.image_id], 'one new launch template version, and it is the default');
      const refreshes = endpoint.autoscaling.refreshes(HOME, `${group}-asg`);
      assert.equal(refreshes.map((refresh) => refresh.status), ['Successful'], 'one refresh, followed to its end');
      assert.is((await store.getPublication(bakeId))?.outcome, 'published');
    } finally {
      await sidecar.stop();
    }
  });
}

Crash.run();
