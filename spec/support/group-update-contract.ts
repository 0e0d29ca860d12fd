/**
 * Changing a group's settings in the store contract: each change checked as a new group's
 * settings are, the rest kept, and the name fixed. Registered onto the one contract suite in
 * spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, published, settings, using, type Backing } from './store-fixtures.ts';

export function groupUpdateContract(test: Test, fresh: () => Promise<Backing>): void {
  test('should change only the settings given, move updated_at to its clock and keep the change', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 1);
    const updated = await using(backing.make(clock), async (store) => {
      const created = await store.createGroup(settings({ subnet: 'subnet-0abc', copy_to: ['eu-west-1'] }));
      clock.time = at(10) + 2;
      const changed = await store.updateGroup('wordpress', { ...published, subnet: null, keep: 9 });
      assert.equal(changed, { ...created, ...published, subnet: null, keep: 9, updated_at: at(10) + 2 });
      clock.time = at(20) + 3;
      // A list given replaces the one the group had; one left out stays.
      const again = await store.updateGroup('wordpress', { ssm_parameter: ['/autoami/only'], min_healthy_percentage: 0 });
      assert.equal(again, { ...changed!, ssm_parameter: ['/autoami/only'], min_healthy_percentage: 0, updated_at: at(20) + 3 });
      assert.equal([again?.created_at, again?.base_image, again?.copy_to], [at(0) + 1, 'ami-0abc1234', ['eu-west-1']]);
      return again;
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getGroup('wordpress'), updated);
      assert.equal(await store.listGroups(), [updated]);
    });
  });

  test('should move only updated_at when given no change', async () => {
    const clock = new FakeClock(at(0));
    await using((await fresh()).make(clock), async (store) => {
      const created = await store.createGroup(settings());
      clock.time = at(1);
      assert.equal(await store.updateGroup('wordpress', {}), { ...created, updated_at: at(1) });
    });
  });

  test('should refuse a change its table cannot keep, naming the field and changing nothing', async () => {
    await using((await fresh()).make(), async (store) => {
      const created = await store.createGroup(settings());
      for (const [field, change] of [
        ['min_healthy_percentage', { min_healthy_percentage: '50' }], ['min_healthy_percentage', { min_healthy_percentage: 1.5 }],
        ['refresh_replace_all', { refresh_replace_all: 1 }], ['ssm_parameter', { ssm_parameter: '/autoami/x' }],
        ['instance_refresh', { instance_refresh: [7] }], ['keep', { keep: null }], ['bootstrap', { bootstrap: 'telnet' }],
      ] as const) {
        // One good change beside the bad one: a refused change writes none of it.
        const error = await rejects(store.updateGroup('wordpress', { keep: 8, ...change } as never), ValidationError);
        assert.is(error.field, field, JSON.stringify(change));
      }
      assert.equal(await store.getGroup('wordpress'), created);
    });
  });

  test('should return undefined for a group that is gone, creating none', async () => {
    await using((await fresh()).make(), async (store) => {
      assert.is(await store.updateGroup('nope', { keep: 4 }), undefined);
      await store.createGroup(settings());
      await store.deleteGroup('wordpress');
      assert.is(await store.updateGroup('wordpress', { keep: 4 }), undefined);
      assert.equal(await store.listGroups(), []);
    });
  });

  test('should never rename a group nor store a stray property', async () => {
    const clock = new FakeClock(at(0));
    await using((await fresh()).make(clock), async (store) => {
      const created = await store.createGroup(settings());
      const error = await rejects(store.updateGroup('wordpress', { name: 'renamed', keep: 4 } as never), ValidationError);
      assert.is(error.field, 'name');
      assert.equal(await store.listGroups(), [created]);
      clock.time = at(1);
      const changed = await store.updateGroup('wordpress', { name: 'wordpress', keep: 4, colour: 'blue', base_image: 'ami-0other' } as never);
      assert.equal(changed, { ...created, keep: 4, updated_at: at(1) });
      assert.equal(await store.getGroup('wordpress'), changed);
    });
  });
}
