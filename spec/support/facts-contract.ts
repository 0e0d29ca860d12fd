/**
 * A group's latest facts in the store contract: kept exactly as the report carried them,
 * one record per group replaced by the next, and gone with the group. Registered onto the
 * one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import type { GroupFacts } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, settings, using, type Backing } from './store-fixtures.ts';

type NewFacts = Omit<GroupFacts, 'recorded_at'>;

// What makes JSON text and SQL text go wrong: quotes of both kinds, backslashes, escapes
// written out, characters beyond the BMP, NUL, numbers at their edges, empty containers.
const NASTY_FACTS = {
  os: { family: 'RedHat', name: 'Rocky', release: { full: '9.3', major: '9', minor: '3' }, selinux: { enabled: false, enforced: null } },
  processors: { count: 2, speed: '2.50 GHz', models: ['Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz', 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz'] },
  networking: { ip: '10.0.1.17', interfaces: { eth0: { mtu: 9001, bindings: [{ address: '10.0.1.17', netmask: '255.255.255.0' }] } } },
  quoting: `it's "quoted" \\ back\\slash \\n not a newline '; DROP TABLE group_facts; --`,
  unicode: 'ключ-🔑-鍵 e\u0301 \u0000 \u2028',
  numbers: [0, -1, 1.5, -2.25e-7, 1e21, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
  flags: [true, false, null],
  empty: { object: {}, list: [], text: '' },
  'dotted.key with spaces': { '': 'empty key', '🔑': ['nested', ['deeper', { deepest: true }]] },
};

export const groupFacts = (group: string, over: Partial<NewFacts> = {}): NewFacts => ({
  group_name: group, bake_id: `${group}-bake-1`, certname: `${group}-i-0abc.autoami`, instance_id: 'i-0abc', environment: 'production',
  facts: { role: group, os: { family: 'RedHat' } }, ...over,
});

export function factsContract(test: Test, fresh: () => Promise<Backing>): void {
  test('should keep a group\'s facts exactly as recorded, stamped with its clock, for another store to read', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0) + 123);
    const recorded = groupFacts('wordpress', { facts: NASTY_FACTS, environment: null });
    await using(backing.make(clock), async (store) => {
      assert.is(await store.recordFacts(recorded), undefined);
      assert.equal(await store.getFacts('wordpress'), { ...recorded, recorded_at: at(0) + 123 });
    });
    await using(backing.make(), async (store) => assert.equal(await store.getFacts('wordpress'), { ...recorded, recorded_at: at(0) + 123 }));
  });

  test('should replace a group\'s facts whole with the next ones recorded, stamped anew', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(0));
    await using(backing.make(clock), (store) => store.recordFacts(groupFacts('wordpress', { facts: NASTY_FACTS })));
    clock.time = at(90) + 7;
    const second = groupFacts('wordpress', { bake_id: 'wordpress-bake-2', certname: 'wordpress-i-0def.autoami', instance_id: 'i-0def', environment: 'staging', facts: { role: 'web' } });
    await using(backing.make(clock), async (store) => {
      await store.recordFacts(second);
      assert.equal(await store.getFacts('wordpress'), { ...second, recorded_at: at(90) + 7 }, 'nothing of the first is left');
    });
    await using(backing.make(), async (store) => assert.equal(await store.getFacts('wordpress'), { ...second, recorded_at: at(90) + 7 }));
  });

  test('should have no facts for a group none were recorded for, and keep each group\'s apart', async () => {
    const clock = new FakeClock(at(0));
    await using((await fresh()).make(clock), async (store) => {
      assert.is(await store.getFacts('wordpress'), undefined);
      await store.recordFacts(groupFacts('wordpress'));
      clock.time = at(1);
      await store.recordFacts(groupFacts('db'));
      clock.time = at(2);
      await store.recordFacts(groupFacts('db', { facts: { role: 'db', replaced: true } }));
      assert.equal(await store.getFacts('wordpress'), { ...groupFacts('wordpress'), recorded_at: at(0) });
      assert.equal(await store.getFacts('db'), { ...groupFacts('db', { facts: { role: 'db', replaced: true } }), recorded_at: at(2) });
      assert.is(await store.getFacts('WordPress'), undefined, 'names compare exactly');
      assert.is(await store.getFacts('nope'), undefined);
    });
  });

  test('should remove a group\'s facts with the group, and leave other groups\' alone', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await store.createGroup(settings());
      await store.createGroup(settings({ name: 'db' }));
      await store.recordFacts(groupFacts('wordpress'));
      await store.recordFacts(groupFacts('db'));
      // Facts a late report recorded after its group was deleted.
      await store.recordFacts(groupFacts('gone'));
      assert.is(await store.deleteGroup('wordpress'), true);
      assert.is(await store.deleteGroup('gone'), false);
    });
    await using(backing.make(), async (store) => {
      assert.is(await store.getFacts('wordpress'), undefined);
      assert.is(await store.getFacts('gone'), undefined);
      assert.is((await store.getFacts('db'))?.bake_id, 'db-bake-1');
      await store.createGroup(settings());
      assert.is(await store.getFacts('wordpress'), undefined, 'a group made again under the name starts without facts');
    });
  });

  test('should refuse facts it cannot keep as JSON, or a field of the wrong kind, naming the field and changing nothing', async () => {
    await using((await fresh()).make(), async (store) => {
      await store.recordFacts(groupFacts('wordpress'));
      const before = await store.getFacts('wordpress');
      for (const [field, over] of [
        ['facts', { facts: ['not', 'an', 'object'] }], ['facts', { facts: null }], ['facts', { facts: 'x' }], ['facts', { facts: { n: Number.NaN } }],
        ['facts', { facts: { n: Infinity } }], ['facts', { facts: { gone: undefined } }], ['facts', { facts: { when: new Date(0) } }],
        ['facts', { facts: { list: [1, () => 2] } }], ['environment', { environment: 7 }],
        ['bake_id', { bake_id: null }], ['instance_id', { instance_id: undefined }],
      ] as const) {
        const error = await rejects(store.recordFacts(groupFacts('wordpress', over as never)), ValidationError);
        assert.is(error.field, field, String(Object.keys(over)));
      }
      assert.equal(await store.getFacts('wordpress'), before);
    });
  });

  test('should keep a copy of the caller\'s facts and only the known fields', async () => {
    await using((await fresh()).make(new FakeClock(at(0))), async (store) => {
      const facts = { os: { family: 'RedHat' }, list: [1] };
      await store.recordFacts({ ...groupFacts('wordpress', { facts }), note: 'stray', recorded_at: at(-100) } as NewFacts);
      facts.os.family = 'Debian';
      facts.list.push(2);
      const stored = await store.getFacts('wordpress');
      assert.equal(stored, { ...groupFacts('wordpress', { facts: { os: { family: 'RedHat' }, list: [1] } }), recorded_at: at(0) });
      assert.not.ok('note' in (stored ?? {}));
    });
  });
}
