/**
 * publish_overhead_s: one bake of a group copied to one more region and published to an SSM
 * parameter (in both regions), a launch template and an instance refresh of an Auto Scaling
 * group that launches from it.
 *   start    = the lineage row's time: every region's image available, the group moved.
 *   end      = the publication's finish: every target updated, the refresh Successful.
 *   floor    = SSM's check of the image id + the refresh's three timed steps. The parameters
 *              and the launch template go in parallel (the template has nothing to wait on),
 *              and the refresh starts once the template's new version is its default.
 *   overhead = end − start − floor: the calls themselves and how late polling notices SSM's
 *              check and the refresh's end. Both delays sit half a poll interval off the grid.
 */
import { makeAsg, makeTemplate } from '../support/publication-rig.ts';
import { POLL_MS } from './bake-overhead.ts';
import { defineGroups, runBakes, startBakeRig, warmUp } from './bake-rig.ts';
import { round } from './stats.ts';
import type { BenchResult } from './table.ts';

const HOME = 'us-east-1';
const COPY = 'eu-west-1';
const GROUP = 'publish';
const PARAMETER = '/bench/publish/ami';
const TEMPLATE = 'publish-fleet';
const ASG = 'publish-asg';
/** SSM answers PutParameter at once and takes the aws:ec2:image value about a second later. */
const VALIDATE_MS = 1_000 + POLL_MS / 2;
/** Pending → InProgress → half done → Successful: a 15-second refresh of a small group. */
const REFRESH_STEP_MS = 5_000 + Math.round(POLL_MS / 6);
const REFRESH_STEPS = 3;

export async function publishBench({ progress }: { progress: (line: string) => void }): Promise<BenchResult> {
  const rig = await startBakeRig(
    { bootMs: 2_000, imageMs: 3_000, copyMs: 3_000, terminateMs: 1_000, ssmValidateMs: VALIDATE_MS, refreshStepMs: REFRESH_STEP_MS },
    { poll_interval: `${POLL_MS}ms` },
  );
  try {
    const templateId = await makeTemplate(rig.endpoint, HOME, TEMPLATE);
    makeAsg(rig.endpoint, HOME, ASG, templateId);
    await defineGroups(rig, [GROUP], { region: HOME, copy_to: [COPY], ssm_parameter: [PARAMETER], launch_template: [TEMPLATE], instance_refresh: [ASG] });
    await warmUp(rig);
    progress(`publish: one bake to ${HOME} + ${COPY}, published to ${PARAMETER}, ${TEMPLATE} and a refresh of ${ASG} (SSM check ${VALIDATE_MS} ms, refresh ${REFRESH_STEPS} × ${REFRESH_STEP_MS} ms)`);
    const { bakes } = await runBakes(rig, [GROUP], 5, 5 * 60_000);
    const bake = bakes[0]!;
    if (bake.outcome !== 'baked') throw new Error(`the bake ended ${bake.outcome}: ${bake.reason}`);
    const image = (await rig.store.listImages(GROUP)).find((each) => each.image_id === bake.image_id);
    const publication = await rig.store.getPublication(bake.id);
    if (!image || publication?.outcome !== 'published' || publication.finished_at === null) throw new Error(`the bake's publication is ${publication?.outcome ?? 'missing'}`);
    // Every target really took the image, or the figure means nothing.
    for (const region of [HOME, COPY]) {
      const wanted = region === HOME ? bake.image_id : image.copies[region];
      const value = rig.endpoint.ssm.value(region, PARAMETER);
      if (value !== wanted) throw new Error(`${region}: ${PARAMETER} holds ${value}, not ${wanted}`);
    }
    const template = rig.endpoint.inRegion(HOME).launchTemplate(templateId)!;
    const defaultImage = template.versions[template.defaultVersion - 1]?.data.imageId;
    if (defaultImage !== bake.image_id) throw new Error(`${TEMPLATE}'s default version holds ${defaultImage}, not ${bake.image_id}`);
    const refreshes = rig.endpoint.autoscaling.refreshes(HOME, ASG);
    if (refreshes.length !== 1 || refreshes[0]!.status !== 'Successful') throw new Error(`${ASG} had refreshes ${JSON.stringify(refreshes.map((r) => r.status))}`);

    const floorMs = VALIDATE_MS + REFRESH_STEPS * REFRESH_STEP_MS;
    const spanMs = publication.finished_at - image.created_at;
    const overheadS = (spanMs - floorMs) / 1000;
    const refresh = refreshes[0]!;
    const calls = Object.fromEntries(
      Object.entries(rig.endpoint.counts.all())
        .filter(([action]) => /Parameter|Tags|LaunchTemplate|Refresh|AutoScaling/.test(action))
        .map(([action, counts]) => [action, counts.total]),
    );
    return {
      title: 'One bake published to SSM in two regions, a launch template and an instance refresh: time over the services\' delays',
      figures: [
        { key: 'publish_overhead_s', value: round(overheadS, 3), unit: 's', target: { op: '<=', limit: 1 } },
        { key: 'publish_floor_s', value: round(floorMs / 1000, 3), unit: 's', target: null },
      ],
      details: [
        ['image available → every target updated', `${spanMs} ms`],
        ['of which waiting to start (protection, the move to publishing)', `${publication.created_at - image.created_at} ms`],
        ['floor: SSM check + refresh steps', `${VALIDATE_MS} + ${REFRESH_STEPS} × ${REFRESH_STEP_MS} ms`],
        ['refresh started after the publication began', `${refresh.startTime - publication.created_at} ms`],
        ['refresh ended → publication finished', `${publication.finished_at - (refresh.endTime ?? refresh.startTime)} ms`],
        ['bake.poll_interval', `${POLL_MS} ms`],
        ['publishing requests', JSON.stringify(calls)],
      ],
    };
  } finally {
    await rig.stop();
  }
}
