/**
 * The bakes, leases and transitions of the store contract, registered onto the one contract
 * suite in spec/store.test.ts so both backends answer the very same tests.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, ValidationError } from '../../runtime/errors.ts';
import type { Bake, Store } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { FakeClock, at, bake, leased, report, using, type Backing } from './store-fixtures.ts';

export function bakeContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  test('should create a bake queued, without outcome or report, stamped by its clock, and keep it', async () => {
    const backing = await fresh();
    const clock = new FakeClock(at(-60) + 123);
    const created = await using(backing.make(clock), (store) => store.createBake(bake('b1', { deadline: at(3600) + 7 })));
    assert.equal(created, {
      ...bake('b1'), deadline: at(3600) + 7, state: 'queued', outcome: null, reason: null, instance_id: null,
      certname: null, image_id: null, image_name: null, report: null, lease_owner: null, lease_expires: null,
      created_at: clock.time, updated_at: clock.time, finished_at: null, challenge_hash: null, distribution: {}, check: null, base_update: null,
      verify_step: null, verify_instance_id: null, verify_certname: null, verify_report: null,
    });
    await using(backing.make(), async (store) => {
      assert.equal(await store.getBake('b1'), created);
      assert.is(await store.getBake('nope'), undefined);
    });
  });

  test('should refuse a reused bake id with ConflictError on id, and a deadline that is not whole epoch milliseconds', async () => {
    await withStore(async (store) => {
      const first = await store.createBake(bake('b1'));
      assert.equal((await rejects(store.createBake(bake('b1', { run_id: 'run-2' })), ConflictError)).data, { field: 'id' });
      for (const deadline of [Number.NaN, at(0) + 0.5, -1, Date.UTC(10000, 0, 1), '2030-01-01T00:00:00Z' as never]) {
        assert.equal((await rejects(store.createBake(bake('b2', { deadline })), ValidationError)).field, 'deadline');
      }
      assert.equal(await store.listBakes(), [first]);
    });
  });

  test('should list bakes oldest first, filtered by active, group and run', async () => {
    await withStore(async (store) => {
      await store.createBake(bake('b1'));
      await store.createBake(bake('b2', { group_name: 'db' }));
      await leased(store, 'b3');
      await store.createBake(bake('b4', { run_id: 'run-2' }));
      assert.ok(await store.transition('b3', 'm1', 'queued', { state: 'done', outcome: 'unchanged' }));
      const ids = async (filter?: Parameters<Store['listBakes']>[0]) => (await store.listBakes(filter)).map((b) => b.id);
      assert.equal(await ids(), ['b1', 'b2', 'b3', 'b4']);
      assert.equal(await ids({ active: true }), ['b1', 'b2', 'b4']);
      assert.equal(await ids({ active: false }), ['b1', 'b2', 'b3', 'b4']);
      assert.equal(await ids({ group_name: 'wordpress' }), ['b1', 'b3', 'b4']);
      assert.equal(await ids({ run_id: 'run-1', group_name: 'wordpress', active: true }), ['b1']);
      assert.equal(await ids({ group_name: "'; --" }), []);
    });
  });

  test('should find a bake by certname, and refuse a certname another bake has', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await leased(store, 'b2');
      const certname = 'wordpress-i-0abc.autoami';
      const moved = await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', certname });
      assert.equal(await store.findBakeByCertname(certname), moved);
      assert.is(await store.findBakeByCertname('other.autoami'), undefined);
      const before = await store.getBake('b2');
      const clash = store.transition('b2', 'm1', 'queued', { state: 'launching', certname });
      assert.equal((await rejects(clash, ConflictError)).data, { field: 'certname' });
      assert.equal(await store.getBake('b2'), before);
    });
  });

  test('should find a bake by its verification certname too, refuse one another bake has, and keep its noop report once', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await leased(store, 'b2');
      const certname = 'wordpress-i-0bcd.autoami';
      const verifying = await store.transition('b1', 'm1', 'queued', { state: 'verifying', verify_step: 'booting', verify_instance_id: 'i-0bcd', verify_certname: certname });
      assert.equal(await store.findBakeByCertname(certname), verifying);
      const clash = store.transition('b2', 'm1', 'queued', { state: 'verifying', verify_certname: certname });
      assert.equal((await rejects(clash, ConflictError)).data, { field: 'verify_certname' });
      const noop = report({ host: certname, noop: true, pending_resources: ['Notify[again]'] });
      assert.ok(await store.recordVerifyReport('b1', noop));
      assert.not.ok(await store.recordVerifyReport('b1', report({ host: certname })), 'kept once');
      const kept = await store.getBake('b1');
      assert.equal([kept?.verify_report, kept?.report], [noop, null]);
    });
  });

  test('should answer many certname lookups made at once each with its own bake, a name asked twice with the same', async () => {
    await withStore(async (store) => {
      const expected = new Map<string, Bake | undefined>();
      for (let index = 0; index < 70; index++) {
        const id = `b${index}`;
        await leased(store, id);
        const verify = index % 3 === 0;
        const certname = `web-i-${index.toString(16).padStart(4, '0')}.autoami`;
        const moved = verify
          ? await store.transition(id, 'm1', 'queued', { state: 'verifying', verify_step: 'booting', verify_instance_id: `i-v${index}`, verify_certname: certname })
          : await store.transition(id, 'm1', 'queued', { state: 'awaiting_report', instance_id: `i-${index}`, certname });
        expected.set(certname, moved);
      }
      expected.set('gone-i-0.autoami', undefined);
      const names = [...expected.keys(), 'web-i-0001.autoami'];
      // One turn of the event loop: a MySQL store answers them in batches of queries.
      const found = await Promise.all(names.map((name) => store.findBakeByCertname(name)));
      names.forEach((name, index) => assert.equal(found[index], expected.get(name), name));
    });
  });

  test('should take a free lease, refuse a held one, take over an expired one and let the owner renew', async () => {
    await withStore(async (store) => {
      await store.createBake(bake('b1'));
      assert.is(await store.acquireLease('nope', 'm1', at(60), at(0)), undefined);
      const taken = await store.acquireLease('b1', 'm1', at(60), at(0));
      assert.equal([taken?.lease_owner, taken?.lease_expires], ['m1', at(60)]);
      assert.is(await store.acquireLease('b1', 'm2', at(90), at(30)), undefined);
      assert.is(await store.acquireLease('b1', 'm2', at(90), at(60)), undefined, 'expiry equal to now is not yet past');
      assert.equal(await store.getBake('b1'), taken);
      const renewed = await store.acquireLease('b1', 'm1', at(120), at(50));
      assert.equal([renewed?.lease_owner, renewed?.lease_expires], ['m1', at(120)]);
      const over = await store.acquireLease('b1', 'm2', at(200), at(121));
      assert.equal([over?.lease_owner, over?.lease_expires], ['m2', at(200)]);
      assert.is(await store.acquireLease('b1', 'm1', at(300), at(130)), undefined);
    });
  });

  test('should release a lease only for its owner', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.releaseLease('b1', 'm2');
      assert.is((await store.getBake('b1'))?.lease_owner, 'm1');
      await store.releaseLease('b1', 'm1');
      assert.equal([(await store.getBake('b1'))?.lease_owner, (await store.getBake('b1'))?.lease_expires], [null, null]);
      assert.is((await store.acquireLease('b1', 'm2', at(60), at(0)))?.lease_owner, 'm2');
    });
  });

  test('should refuse a transition from the wrong state or by a non-owner, changing nothing', async () => {
    await withStore(async (store) => {
      await store.createBake(bake('b0'));
      assert.is(await store.transition('b0', 'm1', 'queued', { state: 'launching' }), undefined, 'no lease held');
      await leased(store, 'b1');
      const before = await store.getBake('b1');
      assert.is(await store.transition('b1', 'm1', 'booting', { state: 'bootstrapping', reason: 'x' }), undefined);
      assert.is(await store.transition('b1', 'm2', 'queued', { state: 'launching', reason: 'x' }), undefined);
      assert.is(await store.transition('nope', 'm1', 'queued', { state: 'launching' }), undefined);
      assert.equal(await store.getBake('b1'), before);
      await rejects(store.transition('b1', 'm1', 'queued', { state: 'baking' as never }), ValidationError);
    });
  });

  test('should move a bake, set only the given fields, and finish it at done without a lease', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      const before = (await store.getBake('b1'))!;
      const launched = (await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', deadline: at(600) }))!;
      assert.equal(launched, { ...before, state: 'launching', instance_id: 'i-0abc', deadline: at(600), updated_at: launched.updated_at });
      assert.equal(await store.getBake('b1'), launched);
      assert.ok(launched.updated_at >= before.updated_at);
      const done = await store.transition('b1', 'm1', 'launching', { state: 'done', outcome: 'failed', reason: "EC2 said 'no'" });
      assert.equal([done?.state, done?.outcome, done?.reason, done?.instance_id], ['done', 'failed', "EC2 said 'no'", 'i-0abc']);
      assert.equal([done?.lease_owner, done?.lease_expires], [null, null]);
      assert.ok(done && done.finished_at !== null && done.finished_at >= launched.updated_at);
      assert.is(await store.transition('b1', 'm1', 'done', { state: 'cleaning' }), undefined);
    });
  });

  test('should let exactly one of two racing masters take a lease', async () => {
    const backing = await fresh();
    await using(backing.make(), async (one) => {
      // The embedded file admits one sidecar, so there the race is two callers of one store.
      const other = backing.shared ? backing.make() : one;
      if (other !== one) await other.open();
      try {
        for (let i = 0; i < 10; i++) {
          await one.createBake(bake(`race-${i}`));
          const results = await Promise.all([
            one.acquireLease(`race-${i}`, 'm1', at(60), at(0)),
            other.acquireLease(`race-${i}`, 'm2', at(60), at(0)),
          ]);
          const winners = results.filter((r) => r !== undefined);
          assert.is(winners.length, 1, `race ${i}: ${JSON.stringify(results.map((r) => r?.lease_owner))}`);
          assert.is((await one.getBake(`race-${i}`))?.lease_owner, winners[0]?.lease_owner);
        }
      } finally {
        if (other !== one) await other.close();
      }
    });
  });

  test('should record a report once, keeping the first', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await store.createBake(bake('b1'));
      assert.is(await store.recordReport('b1', report()), true);
      assert.is(await store.recordReport('b1', report({ transaction_uuid: 'second', status: 'failed', failed: 2 })), false);
      assert.is(await store.recordReport('nope', report()), false);
    });
    await using(backing.make(), async (store) => assert.equal((await store.getBake('b1'))?.report, report()));
  });
}
