import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { channelStates, imagesInChannels } from '../runtime/publish/channels.ts';
import type { Group, Publication } from '../runtime/store/store.ts';
import { settings } from './support/fake-bake-env.ts';

const Channels = suite('channels');

const group = (overrides: Partial<Group> = {}): Group => ({ ...settings({ ssm_parameter: ['/a', 'prod:/b'] }), base_image: 'ami-0abc1234', catalog_hash: null, followed_base: null, created_at: 0, updated_at: 0, ...overrides });

function publication(id: string, channel: string, image: string, outcome: Publication['outcome'], at: number): Publication {
  return {
    id, group_name: 'web', channel, image_id: image, images: { 'us-east-1': image, 'eu-west-1': `${image}-eu` }, trigger: 'promote', requested_by: 'alice',
    progress: {}, outcome, reason: null, created_at: at, updated_at: at, finished_at: outcome === null ? null : at,
  };
}

Channels('should put each channel on its newest published image, skipping ones with errors or cut off', () => {
  const newestFirst = [
    publication('4', 'prod', 'ami-4', null, 4),
    publication('3', 'prod', 'ami-3', 'published_with_errors', 3),
    publication('2', 'prod', 'ami-2', 'published', 2),
    publication('1', 'latest', 'ami-1', 'published', 1),
  ];
  const states = channelStates(group({ image: 'ami-9' }), newestFirst);
  assert.equal(states.map((state) => [state.channel, state.image, state.by]), [['latest', 'ami-1', 'alice'], ['prod', 'ami-2', 'alice']]);
  assert.equal(imagesInChannels(group(), newestFirst), new Set(['ami-1', 'ami-1-eu', 'ami-2', 'ami-2-eu']));
});

Channels('should put latest on the group\'s image and other channels nowhere before anything was published', () => {
  const states = channelStates(group({ image: 'ami-7' }), []);
  assert.equal(states.map((state) => [state.channel, state.image]), [['latest', 'ami-7'], ['prod', null]]);
});

Channels.run();
