/**
 * Bytes of message data held at once, bounded: `acquire` waits while the rest is taken (a claim
 * larger than the whole budget waits for all of it), `release` gives bytes back.
 */
export interface ByteBudget {
  acquire(bytes: number): Promise<void>;
  release(bytes: number): void;
  /** Whether no more work should be taken in (everything is held or someone waits). */
  readonly full: boolean;
  /** Resolves once the budget is not full. */
  untilFree(): Promise<void>;
}

export function createByteBudget(limit: number): ByteBudget {
  let held = 0;
  const waiting: { bytes: number; resolve: () => void }[] = [];
  const freeWaiters: (() => void)[] = [];
  const claim = (bytes: number) => Math.min(bytes, limit);
  const wake = () => {
    while (waiting.length > 0) {
      const next = waiting[0] as { bytes: number; resolve: () => void };
      if (held + next.bytes > limit) break;
      waiting.shift();
      held += next.bytes;
      next.resolve();
    }
    if (!budget.full) for (const resolve of freeWaiters.splice(0)) resolve();
  };
  const budget: ByteBudget = {
    acquire(bytes) {
      const n = claim(bytes);
      if (waiting.length === 0 && held + n <= limit) {
        held += n;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push({ bytes: n, resolve }));
    },
    release(bytes) {
      held -= claim(bytes);
      wake();
    },
    get full() {
      return held >= limit || waiting.length > 0;
    },
    untilFree() {
      return budget.full ? new Promise((resolve) => freeWaiters.push(resolve)) : Promise.resolve();
    },
  };
  return budget;
}
