import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Terminations } from '../runtime/ec2/terminations.ts';
import { ec2Failure } from './support/fake-ec2-faults.ts';

/** Time moves only when something sleeps; every call is recorded with its moment. */
function world(refuse: (ids: readonly string[]) => Error | undefined = () => undefined) {
  let now = 0;
  const calls: { at: number; ids: string[] }[] = [];
  const sleep = async (ms: number) => void (now += ms);
  const terminations = new Terminations({
    send: async (ids) => {
      calls.push({ at: now, ids });
      const error = refuse(ids);
      if (error) throw error;
    },
    sleep,
    clock: { now: () => now },
    spacingMs: 1000,
    maxIds: 4,
  });
  return { terminations, calls, sleep, now: () => now };
}

const Terminate = suite('Terminations');

Terminate('should send a lone caller at once', async () => {
  const w = world();
  await w.terminations.terminate(['i-1']);
  assert.equal(w.calls, [{ at: 0, ids: ['i-1'] }]);
});

Terminate('should hold a caller that follows a call within the spacing, and gather who arrives meanwhile', async () => {
  const w = world();
  await w.terminations.terminate(['i-1']);
  await w.sleep(300);
  await Promise.all([w.terminations.terminate(['i-2']), w.terminations.terminate(['i-3', 'i-2'])]);
  assert.equal(w.calls, [{ at: 0, ids: ['i-1'] }, { at: 1000, ids: ['i-2', 'i-3'] }]);
  await w.sleep(1500);
  await w.terminations.terminate(['i-4']);
  assert.equal(w.calls[2], { at: 2500, ids: ['i-4'] }, 'a spacing after the last call: at once again');
});

Terminate('should put no more ids in a call than it may carry, and chunk one caller that has more', async () => {
  const w = world();
  await Promise.all([['i-1'], ['i-2', 'i-3'], ['i-4', 'i-5'], ['i-6']].map((ids) => w.terminations.terminate(ids)));
  assert.equal(w.calls.map((c) => c.ids), [['i-1'], ['i-2', 'i-3', 'i-4', 'i-5'], ['i-6']]);
  await w.terminations.terminate(['i-7', 'i-8', 'i-9', 'i-10', 'i-11']);
  assert.equal(w.calls.slice(3).map((c) => c.ids), [['i-7', 'i-8', 'i-9', 'i-10'], ['i-11']]);
});

Terminate('should answer each gathered caller for its own ids when EC2 refuses one of them', async () => {
  const w = world((ids) => (ids.includes('i-404') ? ec2Failure('InvalidInstanceID.NotFound', 'TerminateInstances') : undefined));
  await w.terminations.terminate(['i-0']);
  const outcomes = await Promise.allSettled([['i-1'], ['i-404'], ['i-2']].map((ids) => w.terminations.terminate(ids)));
  assert.equal(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal(w.calls.slice(1).map((c) => c.ids), [['i-1', 'i-404', 'i-2'], ['i-1'], ['i-404'], ['i-2']]);
});

Terminate('should fail every gathered caller with a failure that is about the call', async () => {
  const w = world((ids) => (ids.length > 1 ? ec2Failure('RequestLimitExceeded', 'TerminateInstances') : undefined));
  await w.terminations.terminate(['i-0']);
  const outcomes = await Promise.allSettled([['i-1'], ['i-2']].map((ids) => w.terminations.terminate(ids)));
  assert.equal(outcomes.map((o) => o.status), ['rejected', 'rejected']);
  assert.is(w.calls.length, 2, 'not sent again one by one');
});

Terminate.run();
