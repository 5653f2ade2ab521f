/**
 * A bounded send queue per WebSocket.
 *
 * graphql-ws pulls a subscription's next result only after the previous one was written to the
 * socket (it awaits ws's `send` callback), so a client that stops reading does not grow ws's
 * buffer: the events pile up upstream instead, in the pub/sub iterator of every subscription,
 * without bound (and a Repeater with more than 1024 pending pushes throws inside the publisher).
 *
 * `boundedStream` moves that queue here, where it is counted: it drains the subscription's
 * iterator as events arrive and hands them to graphql-ws when it asks. `SocketSendQueue` counts,
 * per socket and across its subscriptions, the messages taken from the iterators and not yet
 * written. When a socket is more than `limit` messages behind, every stream of the socket ends
 * (its iterators are returned, which releases the pub/sub listeners), nothing more is queued for
 * it, and `onOverflow` closes the socket.
 */
export class SocketSendQueue {
  private pending = 0;
  private longest = 0;
  private overflowed = false;
  private readonly streams = new Set<BoundedStream<unknown>>();

  constructor(
    readonly limit: number,
    private readonly onOverflow: (queue: SocketSendQueue) => void,
  ) {}

  /** messages taken for this socket and not yet written */
  get size(): number {
    return this.pending;
  }

  /** the longest this queue has been */
  get peak(): number {
    return this.longest;
  }

  /** true once the socket fell more than `limit` messages behind; it stays true */
  get closed(): boolean {
    return this.overflowed;
  }

  /** Counts one more message; false (and the socket's streams end) when that is more than the limit. */
  take(): boolean {
    if (this.overflowed) return false;
    if (this.pending + 1 > this.limit) {
      this.overflow();
      return false;
    }
    this.pending++;
    if (this.pending > this.longest) this.longest = this.pending;
    return true;
  }

  release(n = 1): void {
    this.pending = Math.max(0, this.pending - n);
  }

  /**
   * Wraps one subscription of this socket: a shared source (see multicast.ts) pushes into the
   * stream; any other async iterable is drained into it as its values arrive.
   */
  wrap<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    const stream = new BoundedStream<T>(this);
    if (this.overflowed) {
      void stream.return();
      return stream;
    }
    this.streams.add(stream as BoundedStream<unknown>);
    const push = (source as Partial<PushSource<T>>)[ATTACH];
    if (push) stream.onEnd(push.call(source, stream));
    else pump(source, stream);
    return stream;
  }

  /** Ends every stream of the socket (the socket closed, or it overflowed). */
  endAll(): void {
    for (const stream of [...this.streams]) void stream.return();
  }

  forget(stream: BoundedStream<unknown>): void {
    this.streams.delete(stream);
  }

  private overflow(): void {
    this.overflowed = true;
    this.endAll();
    this.onOverflow(this);
  }
}

/** A source that pushes its values into streams itself (one producer, many streams). */
export const ATTACH = Symbol("attach");
export interface PushSource<T> {
  /** starts pushing into `stream`; the returned function stops it (called when the stream ends) */
  [ATTACH](stream: BoundedStream<T>): () => void;
}

/** Drains `source` into `stream` as values arrive; returns the source when the stream ends. */
function pump<T>(source: AsyncIterable<T>, stream: BoundedStream<T>): void {
  const it = source[Symbol.asyncIterator]();
  stream.onEnd(() => {
    void Promise.resolve()
      .then(() => it.return?.())
      .catch(() => undefined);
  });
  void (async () => {
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return stream.end();
        if (!stream.offer(r.value)) return;
      }
    } catch (error) {
      stream.fail(error);
    }
  })();
}

/**
 * An async generator fed by `offer` and read by one consumer (graphql-ws), its queue counted by
 * `queue`. Contract with the consumer: it calls `next()` again only once the previous value was
 * written, so a `next()` call is what marks the previous value as sent.
 */
export class BoundedStream<T> implements AsyncGenerator<T, void, undefined> {
  private readonly buffer: T[] = [];
  /** a value was handed to the consumer and is being written */
  private inFlight = false;
  /** no more values: ended by the producer, the consumer or an overflow */
  private ended = false;
  /** the producer ended (or failed): what is buffered is still delivered */
  private drained = false;
  private failure: { error: unknown } | undefined;
  private waiter: { resolve: (r: IteratorResult<T, void>) => void; reject: (err: unknown) => void } | undefined;
  private readonly endHooks: Array<() => void> = [];

  constructor(private readonly queue: SocketSendQueue) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Runs `hook` once when the stream ends, whoever ends it (at once if it has ended). */
  onEnd(hook: () => void): void {
    if (this.ended) hook();
    else this.endHooks.push(hook);
  }

  /** From the producer: false when the stream has ended (the value is dropped; stop producing). */
  offer(value: T): boolean {
    if (this.ended || this.drained) return false;
    if (!this.queue.take()) return false; // too far behind: take() has ended every stream of the socket
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.inFlight = true;
      waiter.resolve({ value, done: false });
    } else {
      this.buffer.push(value);
    }
    return true;
  }

  /** From the producer: no more values; what is queued is still delivered. */
  end(): void {
    if (this.ended || this.drained) return;
    this.drained = true;
    if (this.buffer.length === 0) this.finish();
  }

  /** From the producer: it failed; the error is delivered after what is queued. */
  fail(error: unknown): void {
    if (this.ended || this.drained) return;
    this.drained = true;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.finish();
      waiter.reject(error);
    } else {
      this.failure = { error };
    }
  }

  next(): Promise<IteratorResult<T, void>> {
    this.settleInFlight();
    if (this.buffer.length > 0) {
      this.inFlight = true;
      return Promise.resolve({ value: this.buffer.shift()!, done: false });
    }
    if (this.failure) {
      const { error } = this.failure;
      this.failure = undefined;
      this.finish();
      return Promise.reject(error);
    }
    if (this.ended || this.drained) {
      this.finish();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Ends the stream: drops what is queued (releasing its count) and stops the producer. */
  async return(): Promise<IteratorResult<T, void>> {
    this.finish();
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<T, void>> {
    this.finish();
    throw err;
  }

  /** The consumer asked for more (or the stream ends): the value it had is no longer queued. */
  private settleInFlight(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.queue.release();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleInFlight();
    this.queue.release(this.buffer.length);
    this.buffer.length = 0;
    this.failure = undefined;
    this.queue.forget(this as BoundedStream<unknown>);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
    for (const hook of this.endHooks.splice(0)) {
      try {
        hook();
      } catch {
        // a producer that fails to stop has nothing left to deliver to this stream
      }
    }
  }
}
