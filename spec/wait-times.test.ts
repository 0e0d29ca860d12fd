/**
 * WaitTimes: the expectation a bake's wait is given (the group's own history, else what
 * this process saw lately in the region), and what it keeps afterwards; neither a store
 * that fails to read nor one that fails to write fails the wait.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WaitTimes, type WaitTiming } from '../runtime/bake/wait-times.ts';
import { StoreUnavailableError } from '../runtime/errors.ts';
import { EmbeddedStore } from '../runtime/store/embedded-store.ts';
import type { Bake, Store } from '../runtime/store/store.ts';
import { CapturingLog } from './support/capturing-log.ts';
import { rejects } from './support/rejects.ts';
import { tempDir } from './support/tmp.ts';

const P = 500;
const bakeOf = (group: string, region = 'us-east-1'): Bake => ({ id: `${group}-bake`, group_name: group, region }) as Bake;

/** A wait that reports `window` and hands back what it was given. */
const seeing = (window: { notYetMs: number; seenMs: number }) => async (timing: WaitTiming): Promise<WaitTiming> => {
  timing.onObserved?.(window);
  return timing;
};

async function withStore(body: (store: EmbeddedStore) => Promise<void>): Promise<void> {
  const store = new EmbeddedStore(join(tempDir(), 'store.json'));
  await store.open();
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

const Times = suite('WaitTimes');

Times('should give a group without history no expectation, then its own, and keep each window it saw', () =>
  withStore(async (store) => {
    const times = new WaitTimes(store, new CapturingLog(), P);
    const first = await times.around(bakeOf('web'), 'image', seeing({ notYetMs: 20_000, seenMs: 20_500 }));
    assert.is(first.expect, undefined);
    const second = await times.around(bakeOf('web'), 'image', seeing({ notYetMs: 20_120.4, seenMs: 20_300.6 }));
    assert.equal(second.expect, { expectedMs: 20_300, latestMs: 20_500 });
    assert.equal((await store.listWaits('web', 'image')).map((w) => [w.not_yet_ms, w.seen_ms]), [[20_120, 20_301], [20_000, 20_500]], 'whole milliseconds, widened');
    assert.equal(await store.listWaits('web', 'boot'), []);
  }));

Times('should lend a new group what this process saw lately of the kind in the region, and nothing from elsewhere', () =>
  withStore(async (store) => {
    const times = new WaitTimes(store, new CapturingLog(), P);
    await times.around(bakeOf('web'), 'boot', seeing({ notYetMs: 8_000, seenMs: 8_500 }));
    assert.equal((await times.around(bakeOf('db'), 'boot', seeing({ notYetMs: 8_200, seenMs: 8_300 }))).expect, { expectedMs: 8_300, latestMs: 8_500 });
    assert.is((await times.around(bakeOf('cache', 'eu-west-1'), 'boot', seeing({ notYetMs: 1, seenMs: 2 }))).expect, undefined, 'another region');
    assert.is((await times.around(bakeOf('cache'), 'terminate', seeing({ notYetMs: 1, seenMs: 2 }))).expect, undefined, 'another kind');
    // Its own history, once it has one, wins over the borrowed.
    assert.equal((await times.around(bakeOf('db'), 'boot', seeing({ notYetMs: 1, seenMs: 2 }))).expect, { expectedMs: 8_300, latestMs: 8_300 });
  }));

Times('should neither fail nor keep anything for a wait that saw no change', () =>
  withStore(async (store) => {
    const times = new WaitTimes(store, new CapturingLog(), P);
    const error = await rejects(times.around(bakeOf('web'), 'boot', async () => Promise.reject(new Error('timed out'))));
    assert.is(error.message, 'timed out');
    assert.equal(await store.listWaits('web', 'boot'), []);
  }));

Times('should let the wait go on when the store cannot read or keep its history, saying so in the log', async () => {
  const down = new StoreUnavailableError('MySQL store is not reachable');
  const broken = { listWaits: () => Promise.reject(down), recordWait: () => Promise.reject(down) } as unknown as Store;
  const log = new CapturingLog();
  const times = new WaitTimes(broken, log, P);
  const timing = await times.around(bakeOf('web'), 'image', seeing({ notYetMs: 20_000, seenMs: 20_500 }));
  assert.is(timing.expect, undefined);
  assert.equal(log.lines.map((line) => [line.level, line.message]), [['warn', 'wait history not read; borrowing recent waits'], ['warn', 'wait history not recorded']]);
  // What it saw still serves the next wait of the kind in the region, from memory.
  assert.equal((await times.around(bakeOf('web'), 'image', seeing({ notYetMs: 1, seenMs: 2 }))).expect, { expectedMs: 20_300, latestMs: 20_500 });
});

Times.run();
