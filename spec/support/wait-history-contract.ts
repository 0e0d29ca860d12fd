/**
 * A group's wait history in the store contract: the newest few waits of each group and kind,
 * newest first, gone with the group. Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import type { WaitRecord } from '../../runtime/store/store.ts';
import { WAITS_KEPT } from '../../runtime/store/wait-table.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, settings, using, type Backing } from './store-fixtures.ts';

type NewWait = Omit<WaitRecord, 'observed_at'>;

const boot = (n: number, group = 'wordpress'): NewWait => ({ group_name: group, kind: 'boot', not_yet_ms: 8_000 + n, seen_ms: 8_500 + n });

export function waitHistoryContract(test: Test, fresh: () => Promise<Backing>): void {
  test('should keep the newest waits of a group and kind, newest first, stamped with its clock, for another store to read', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0));
    await using(backing.make(clock), async (store) => {
      assert.equal(await store.listWaits('wordpress', 'boot'), []);
      for (let n = 0; n < WAITS_KEPT + 2; n++) {
        clock.time = at(n);
        assert.is(await store.recordWait(boot(n)), undefined);
      }
    });
    const expected = [6, 5, 4, 3, 2].map((n) => ({ ...boot(n), observed_at: at(n) }));
    assert.is(expected.length, WAITS_KEPT);
    await using(backing.make(), async (store) => assert.equal(await store.listWaits('wordpress', 'boot'), expected));
  });

  test('should keep two waits that end in the same millisecond, in the order recorded', async () => {
    await using((await fresh()).make(new FakeClock(at(0))), async (store) => {
      await store.recordWait(boot(1));
      await store.recordWait(boot(2));
      assert.equal((await store.listWaits('wordpress', 'boot')).map((w) => w.not_yet_ms), [8_002, 8_001]);
    });
  });

  test('should keep each group\'s and kind\'s apart, and drop a group\'s with it', async () => {
    const backing = await fresh();
    await using(backing.make(new FakeClock(at(0))), async (store) => {
      await store.createGroup(settings());
      await store.createGroup(settings({ name: 'db' }));
      for (let n = 0; n < WAITS_KEPT; n++) await store.recordWait(boot(n));
      await store.recordWait({ group_name: 'wordpress', kind: 'image', not_yet_ms: 0, seen_ms: 20_250 });
      await store.recordWait({ group_name: 'wordpress', kind: 'terminate', not_yet_ms: 4_000, seen_ms: 4_250 });
      await store.recordWait(boot(9, 'db'));
      // A full kind of one group trims nothing of another's, nor of its other kinds.
      assert.equal((await store.listWaits('wordpress', 'boot')).length, WAITS_KEPT);
      assert.equal((await store.listWaits('wordpress', 'image')).map((w) => w.seen_ms), [20_250]);
      assert.equal((await store.listWaits('db', 'boot')).map((w) => w.seen_ms), [8_509]);
      assert.equal(await store.listWaits('WordPress', 'boot'), [], 'names compare exactly');
      assert.is(await store.deleteGroup('wordpress'), true);
    });
    await using(backing.make(), async (store) => {
      for (const kind of ['boot', 'image', 'terminate'] as const) assert.equal(await store.listWaits('wordpress', kind), []);
      assert.equal((await store.listWaits('db', 'boot')).length, 1);
    });
  });

  test('should refuse a window that holds nothing, or a field of the wrong kind, naming the field and keeping nothing', async () => {
    await using((await fresh()).make(), async (store) => {
      for (const [field, over] of [
        ['not_yet_ms', { not_yet_ms: -1 }], ['seen_ms', { seen_ms: 8_000 }], ['seen_ms', { seen_ms: 7_000 }], ['seen_ms', { seen_ms: 2 ** 31 }],
        ['not_yet_ms', { not_yet_ms: 1.5 }], ['seen_ms', { seen_ms: '9000' }], ['kind', { kind: 'reboot' }], ['group_name', { group_name: null }],
      ] as const) {
        const error = await rejects(store.recordWait({ ...boot(0), ...over } as never), ValidationError);
        assert.is(error.field, field, JSON.stringify(over));
      }
      assert.equal(await store.listWaits('wordpress', 'boot'), []);
    });
  });
}
