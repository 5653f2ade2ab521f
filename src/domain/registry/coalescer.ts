/**
 * Coalesces a flapping stream of state changes, per key: at most one delivery per key per window.
 *
 * - The first change of a quiet key is delivered at once and opens a window of `windowMs`.
 * - Changes inside the window replace each other: only the latest is kept.
 * - When the window ends, the kept change is delivered (rebased so that its `previous` is the
 *   state last delivered) and a new window opens, unless its state is the one last delivered:
 *   then the flap went back where subscribers already are, and nothing is sent.
 *
 * In-process: each process coalesces the changes it makes. Timers are unref'd; `stop` drops what
 * is still pending.
 */
export interface CoalescerOptions<S, E> {
  windowMs: number;
  stateOf: (event: E) => S;
  /** the event as delivered after a window: its previous state becomes `lastDelivered` */
  rebase: (event: E, lastDelivered: S) => E;
  deliver: (event: E) => void;
}

interface Entry<S, E> {
  lastDelivered: S;
  pending: E | undefined;
  timer: NodeJS.Timeout;
}

export class Coalescer<S, E> {
  private readonly entries = new Map<string, Entry<S, E>>();

  constructor(private readonly options: CoalescerOptions<S, E>) {}

  /** Keys with an open window (for tests and diagnostics). */
  get open(): number {
    return this.entries.size;
  }

  offer(key: string, event: E): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.pending = event;
      return;
    }
    this.options.deliver(event);
    this.entries.set(key, { lastDelivered: this.options.stateOf(event), pending: undefined, timer: this.window(key) });
  }

  stop(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }

  private window(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.windowOver(key), this.options.windowMs);
    timer.unref();
    return timer;
  }

  private windowOver(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    const pending = entry.pending;
    if (pending === undefined || this.options.stateOf(pending) === entry.lastDelivered) {
      this.entries.delete(key);
      return;
    }
    this.options.deliver(this.options.rebase(pending, entry.lastDelivered));
    entry.lastDelivered = this.options.stateOf(pending);
    entry.pending = undefined;
    entry.timer = this.window(key);
  }
}
