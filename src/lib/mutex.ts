/**
 * A FIFO async mutex. The embedded database shares one session between all callers, so every unit
 * of work on it must run alone (see STACK-NOTES: a rollback there discards other callers' writes).
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** Number of callers queued or running. */
  get depth(): number {
    return this.waiting;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await fn();
    } finally {
      this.waiting--;
      release();
    }
  }
}
