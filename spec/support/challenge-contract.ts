/**
 * The one-time CSR challenge in the store contract: only its digest is kept, set by the lease
 * holder and spent exactly once. Registered onto the one contract suite in spec/store.test.ts.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../runtime/errors.ts';
import { challengeHash } from '../../runtime/puppet/challenge.ts';
import type { Store } from '../../runtime/store/store.ts';
import { rejects } from './rejects.ts';
import { leased, using, type Backing } from './store-fixtures.ts';

export function challengeContract(test: Test, fresh: () => Promise<Backing>): void {
  const withStore = async (body: (store: Store) => Promise<void>) => using((await fresh()).make(), body);

  // The one-time CSR challenge: a 64-hex-digit secret like the sidecar's, and the digest kept of it.
  const SECRET = 'c4'.repeat(32);
  const HASH = challengeHash(SECRET);

  test('should record a challenge hash only for the lease holder in the given state, and keep it', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await leased(store, 'b1');
      assert.is(await store.setChallenge('b1', 'm2', 'queued', HASH), undefined, 'not the lease holder');
      assert.is(await store.setChallenge('b1', 'm1', 'launching', HASH), undefined, 'not in that state');
      assert.is(await store.setChallenge('nope', 'm1', 'queued', HASH), undefined);
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
      const set = await store.setChallenge('b1', 'm1', 'queued', HASH);
      assert.equal([set?.challenge_hash, set?.state], [HASH, 'queued']);
      // A new secret replaces the old one's hash.
      const other = challengeHash('d5'.repeat(32));
      assert.is((await store.setChallenge('b1', 'm1', 'queued', other))?.challenge_hash, other);
      assert.is((await store.setChallenge('b1', 'm1', 'queued', HASH))?.challenge_hash, HASH);
    });
    await using(backing.make(), async (store) => assert.is((await store.getBake('b1'))?.challenge_hash, HASH));
  });

  test('should take nothing but a sha256 digest as a challenge, without echoing what it was given', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      for (const value of [SECRET, HASH.slice('sha256:'.length), `${HASH}0`, HASH.toUpperCase(), '']) {
        const error = await rejects(store.setChallenge('b1', 'm1', 'queued', value), ValidationError);
        assert.is(error.field, 'challenge_hash');
        if (value) assert.not.ok(error.message.includes(value), error.message);
      }
      await rejects(store.clearChallenge('b1', SECRET), ValidationError);
      // A transition may forget a challenge, never set one.
      await rejects(store.transition('b1', 'm1', 'queued', { state: 'launching', challenge_hash: HASH as never }), ValidationError);
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
    });
  });

  test('should spend a challenge once, and only the one it was given', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
      assert.is(await store.clearChallenge('b1', challengeHash('e6'.repeat(32))), false, 'another hash');
      assert.is(await store.clearChallenge('nope', HASH), false);
      assert.is((await store.getBake('b1'))?.challenge_hash, HASH);
      // No lease needed: policy autosign spends it from whichever sidecar is asked.
      assert.is(await store.clearChallenge('b1', HASH), true);
      assert.is(await store.clearChallenge('b1', HASH), false, 'spent');
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
      assert.is((await store.getBake('b1'))?.lease_owner, 'm1');
    });
  });

  test('should let exactly one of several racing callers spend a challenge', async () => {
    const backing = await fresh();
    await using(backing.make(), async (one) => {
      const other = backing.shared ? backing.make() : one;
      if (other !== one) await other.open();
      try {
        await leased(one, 'b1');
        for (let i = 0; i < 5; i++) {
          await one.setChallenge('b1', 'm1', 'queued', HASH);
          const results = await Promise.all([one, other, one, other].map((store) => store.clearChallenge('b1', HASH)));
          assert.is(results.filter(Boolean).length, 1, `round ${i}: ${JSON.stringify(results)}`);
        }
      } finally {
        if (other !== one) await other.close();
      }
    });
  });

  test('should forget the challenge on a transition that clears it, and keep it on one that does not', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
      const launching = await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc' });
      assert.is(launching?.challenge_hash, HASH);
      const cleaning = await store.transition('b1', 'm1', 'launching', { state: 'cleaning', outcome: 'failed', challenge_hash: null });
      assert.is(cleaning?.challenge_hash, null);
      assert.is((await store.getBake('b1'))?.challenge_hash, null);
    });
  });

  test('should move on a condition on the challenge only while it still holds, and never store the condition', async () => {
    await withStore(async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
      const before = await store.getBake('b1');
      const other = challengeHash('f7'.repeat(32));
      assert.is(await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', expect_challenge: other }), undefined);
      assert.equal(await store.getBake('b1'), before);
      await rejects(store.transition('b1', 'm1', 'queued', { state: 'launching', expect_challenge: SECRET }), ValidationError);
      const moved = await store.transition('b1', 'm1', 'queued', { state: 'launching', instance_id: 'i-0abc', expect_challenge: HASH });
      assert.equal([moved?.state, moved?.instance_id, moved?.challenge_hash], ['launching', 'i-0abc', HASH]);
      assert.not.ok(moved && 'expect_challenge' in moved);
    });
  });

  test('should keep only the digest: the secret is nowhere in what the backend stores', async () => {
    const backing = await fresh();
    await using(backing.make(), async (store) => {
      await leased(store, 'b1');
      await store.setChallenge('b1', 'm1', 'queued', HASH);
    });
    const raw = await backing.raw();
    assert.ok(raw.includes(HASH), 'the digest is stored, so the raw view is the right one');
    for (const form of [SECRET, SECRET.toUpperCase(), Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET, 'hex').toString('base64'), SECRET.slice(8, 40)]) {
      assert.not.ok(raw.includes(form), `the store holds ${form}`);
    }
  });
}
