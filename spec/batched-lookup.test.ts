import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchedLookup } from '../runtime/store/batched-lookup.ts';

/** A lookup over `rows` that keeps the key lists it was asked for. */
function recording(rows: ReadonlyMap<string, number>, maxBatch?: number) {
  const asked: string[][] = [];
  const lookup = new BatchedLookup<string, number>(async (keys) => {
    asked.push([...keys]);
    return new Map(keys.filter((key) => rows.has(key)).map((key) => [key, rows.get(key)!]));
  }, maxBatch);
  return { lookup, asked };
}

const Batched = suite('BatchedLookup');

Batched('should send the keys asked in one turn as one fetch, each key once, and answer each caller', async () => {
  const { lookup, asked } = recording(new Map([['a', 1], ['b', 2]]));
  const answers = await Promise.all([lookup.get('a'), lookup.get('b'), lookup.get('a'), lookup.get('missing')]);
  assert.equal(answers, [1, 2, 1, undefined]);
  assert.equal(asked, [['a', 'b', 'missing']]);
});

Batched('should fetch again for keys asked after a batch went out', async () => {
  const { lookup, asked } = recording(new Map([['a', 1]]));
  assert.is(await lookup.get('a'), 1);
  assert.is(await lookup.get('a'), 1);
  assert.equal(asked, [['a'], ['a']]);
});

Batched('should split more keys than a batch holds into several fetches', async () => {
  const rows = new Map(Array.from({ length: 7 }, (_, index) => [`k${index}`, index] as const));
  const { lookup, asked } = recording(rows, 3);
  const answers = await Promise.all([...rows.keys()].map((key) => lookup.get(key)));
  assert.equal(answers, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(asked.map((keys) => keys.length), [3, 3, 1]);
});

Batched('should reject every caller of a failed fetch, and serve later callers afresh', async () => {
  let fail = true;
  const lookup = new BatchedLookup<string, number>(async (keys) => {
    if (fail) throw new Error('store down');
    return new Map(keys.map((key) => [key, key.length]));
  });
  const failed = await Promise.allSettled([lookup.get('a'), lookup.get('bb')]);
  assert.equal(failed.map((result) => result.status), ['rejected', 'rejected']);
  assert.is((failed[0] as PromiseRejectedResult).reason.message, 'store down');
  fail = false;
  assert.is(await lookup.get('bb'), 2);
});

Batched.run();
