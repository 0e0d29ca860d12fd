/**
 * `publishing`: the group is on its new image; now channel latest's targets get it. The
 * publication has the bake's id, so a resumed bake carries on with its own. Its outcome
 * is the bake's: `baked`, or `published_with_errors` naming what failed (the group keeps
 * its image, the channel stays on the one before).
 */
import { imagesByRegion } from '../methods/history.ts';
import { DEFAULT_CHANNEL } from '../interface/targets.ts';
import { runPublication } from '../publish/publication.ts';
import type { Bake, Group } from '../store/store.ts';
import type { StepEnv } from './env.ts';
import { finish, type StepResult } from './moves.ts';

export async function publishLatest(env: StepEnv, bake: Bake, group: Group): Promise<StepResult> {
  const made = (await env.store.listImages(bake.group_name)).find((image) => image.image_id === bake.image_id);
  const publication = await env.store.startPublication({
    id: bake.id,
    group_name: bake.group_name,
    channel: DEFAULT_CHANNEL,
    image_id: bake.image_id!,
    images: imagesByRegion(made, { region: bake.region, image: bake.image_id! }),
    trigger: 'bake',
    requested_by: null,
  });
  const result = await runPublication({ ...env, tickMs: env.tickMs }, { publication, group, mode: 'forward', refresh: true, deadline: bake.deadline });
  if (result.state === 'lost') return 'lost';
  if (result.state === 'published') return finish(env, bake, 'baked', bake.reason ?? 'baked');
  return finish(env, bake, 'published_with_errors', `${bake.reason ?? 'baked'}; channel ${DEFAULT_CHANNEL} not moved: ${result.reason}`);
}
