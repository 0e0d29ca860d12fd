/**
 * Distribution to more regions in the store contract: a group's distribution settings, and
 * a bake's regional images, written only by the lease holder while it is `distributing`.
 * Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import type { Distribution, Store } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, distributed, leased, settings, using, type Backing } from './store-fixtures.ts';

// The home region's image is known from the start; a copy's only once CopyImage answers.
const STARTED: Distribution = {
  'us-east-1': { image_id: 'ami-0home', step: 'sharing' },
  'eu-west-1': { image_id: null, step: 'copying' },
};
const FURTHER: Distribution = {
  'us-east-1': { image_id: 'ami-0home', step: 'done' },
  'eu-west-1': { image_id: 'ami-0copy', step: 'deprecating' },
};

/** A bake leased by m1 and moved on to `distributing`. */
async function distributing(store: Store, id: string): Promise<void> {
  await leased(store, id);
  assert.is((await store.transition(id, 'm1', 'queued', { state: 'distributing' }))?.state, 'distributing');
}

export function distributionContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  test('should keep every distribution setting of a group and read each back', async () => {
    const backing = await fresh();
    const created = await using(backing.make(), (store) => store.createGroup(settings(distributed)));
    assert.equal(created, { ...created, ...settings(distributed) });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getGroup('wordpress'), created);
      assert.equal(await store.listGroups(), [created]);
    });
  });

  test('should give a group left without distribution settings their defaults', async () => {
    await withStore(async (store) => {
      const { keep_days: _1, copy_to: _2, encrypt: _3, kms_key: _4, share_with: _5, deprecate_after: _6, ...before } = settings();
      const created = await store.createGroup(before as never);
      assert.equal(
        [created.keep_days, created.copy_to, created.encrypt, created.kms_key, created.share_with, created.deprecate_after],
        [null, [], false, [], [], null],
      );
      assert.equal(await store.getGroup('wordpress'), created);
    });
  });

  test('should start a bake with no regional images', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => assert.equal((await store.createBake({
      id: 'b1', run_id: 'r1', group_name: 'wordpress', region: 'us-east-1', parent_image: 'ami-1', deadline: at(0),
    })).distribution, {}));
    await using(backing.make(), async (store) => assert.equal((await store.getBake('b1'))?.distribution, {}));
  });

  test('should record a distribution only for the lease holder of a distributing bake, changing nothing otherwise', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      const queued = await store.getBake('b1');
      assert.is(await store.setDistribution('b1', 'm1', STARTED), undefined, 'not distributing');
      assert.equal(await store.getBake('b1'), queued);
      await distributing(store, 'b2');
      const before = await store.getBake('b2');
      assert.is(await store.setDistribution('b2', 'm2', STARTED), undefined, 'not the lease holder');
      assert.is(await store.setDistribution('nope', 'm1', STARTED), undefined);
      assert.equal(await store.getBake('b2'), before);
      await store.releaseLease('b2', 'm1');
      assert.is(await store.setDistribution('b2', 'm1', STARTED), undefined, 'lease released');
      assert.ok(await store.acquireLease('b2', 'm1', at(60), at(0)));
      assert.equal((await store.getBake('b2'))?.distribution, {});
    });
  });

  test('should record a distribution for the lease holder, replace it whole, and keep it', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 11);
    const written = await using(backing.make(clock), async (store) => {
      await distributing(store, 'b1');
      const before = (await store.getBake('b1'))!;
      clock.time = at(5) + 22;
      const set = await store.setDistribution('b1', 'm1', STARTED);
      assert.equal(set, { ...before, distribution: STARTED, updated_at: at(5) + 22 });
      assert.equal(await store.getBake('b1'), set);
      clock.time = at(9) + 33;
      const further = (await store.setDistribution('b1', 'm1', FURTHER))!;
      assert.equal([further.distribution, further.updated_at, further.state], [FURTHER, at(9) + 33, 'distributing']);
      assert.equal(await store.listBakes({ active: true }), [further]);
      return further;
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getBake('b1'), written);
      assert.equal(await store.listBakes(), [written]);
      // Moving on keeps what the regions got to: cleaning and done still show it.
      const done = await store.transition('b1', 'm1', 'distributing', { state: 'done', outcome: 'baked' });
      assert.equal(done?.distribution, FURTHER);
      assert.is(await store.setDistribution('b1', 'm1', STARTED), undefined, 'done');
    });
  });

  test('should refuse a distribution that is not a map of region to its image, changing nothing', async () => {
    await withStore(async (store) => {
      await distributing(store, 'b1');
      await store.setDistribution('b1', 'm1', STARTED);
      const before = await store.getBake('b1');
      for (const bad of [
        { 'us-east-1': { image_id: 'ami-0home', step: 'flying' } },
        { 'us-east-1': { image_id: 'ami-0home' } },
        { 'us-east-1': { image_id: 7, step: 'done' } },
        { 'not a region': { image_id: null, step: 'copying' } },
        { 'us-east-1': 'ami-0home' },
        [{ image_id: null, step: 'copying' }],
        null,
      ]) {
        const error = await rejects(store.setDistribution('b1', 'm1', bad as never), ValidationError);
        assert.is(error.field, 'distribution', JSON.stringify(bad));
      }
      assert.equal(await store.getBake('b1'), before);
    });
  });

  test('should store only the known fields of a regional image, and a copy of the caller\'s map', async () => {
    await withStore(async (store) => {
      await distributing(store, 'b1');
      const mine = { 'eu-west-1': { image_id: null, step: 'copying', note: 'stray' } } as Record<string, { image_id: string | null; step: 'copying' | 'done' }>;
      const set = await store.setDistribution('b1', 'm1', mine);
      mine['eu-west-1'] = { image_id: 'ami-0changed', step: 'done' };
      const expected = { 'eu-west-1': { image_id: null, step: 'copying' } };
      assert.equal(set?.distribution, expected);
      assert.equal((await store.getBake('b1'))?.distribution, expected);
    });
  });
}
