import * as assert from 'uvu/assert';

/** The error `promise` rejects with, checked to be a `type`; a resolved promise fails the test. */
export async function rejects<E = Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E = Error as never): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, type);
    return error as E;
  }
  throw assert.unreachable('expected a rejection');
}
