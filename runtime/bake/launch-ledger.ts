/**
 * Which bakes this process launched in one go. A stray instance of a bake can only come
 * from a launch that was interrupted (ClientToken = bake id makes any retry of RunInstances
 * answer with the first instance): a bake whose launch this process sent once and recorded
 * has none, and needs no DescribeInstances by tag to prove it. A bake resumed from another
 * process, or whose launch step failed here and ran again, is not in it and is swept.
 * In memory only: a restarted process knows nothing, so every bake it resumes is swept.
 */
export class LaunchLedger {
  readonly #attempted = new Set<string>();
  readonly #clean = new Set<string>();

  /** A launch step starts; true for the first in this process, the only one that can be clean. */
  attempt(bakeId: string): boolean {
    const first = !this.#attempted.has(bakeId);
    this.#attempted.add(bakeId);
    this.#clean.delete(bakeId);
    return first;
  }

  /** The first attempt launched and recorded its instance. */
  launched(bakeId: string): void {
    this.#clean.add(bakeId);
  }

  /** No instance of this bake but the recorded one can exist. */
  isClean(bakeId: string): boolean {
    return this.#clean.has(bakeId);
  }

  /** The bake is done, or another process drives it now. */
  forget(bakeId: string): void {
    this.#attempted.delete(bakeId);
    this.#clean.delete(bakeId);
  }
}
