import { type ExecutionArgs, type ExecutionResult, subscribe as graphqlSubscribe } from "graphql";
import { ATTACH, type BoundedStream, type PushSource, SocketSendQueue } from "./send-queue";

type SubscribeResult = AsyncIterable<ExecutionResult> | ExecutionResult;
type Subscribe = (args: ExecutionArgs) => SubscribeResult | Promise<SubscribeResult>;

/**
 * Subscriptions that must produce the same results share one graphql-js subscription: one source
 * stream, one execution of the selection set per event, and the result handed to every member.
 * Without it, an event to 10,000 subscribers is executed 10,000 times (measured: most of the
 * fan-out time, see BENCHMARKS.md, bench:ws).
 *
 * The group key is chosen by the caller and must imply identical results: ws.ts uses the API key
 * (same key, same tenant and permissions), the document text, the operation name and the
 * variables. The group runs with the context of the subscriber that opened it; its resolvers
 * authorised that subscriber, and so every member. Each member keeps its own bounded queue
 * (send-queue.ts), so a slow member is closed without holding up the others. A group is counted by
 * its members and released (its source returned, its pub/sub listener removed) when the last one
 * leaves.
 */
export class SubscriptionMulticast {
  private readonly groups = new Map<string, Promise<Group | ExecutionResult>>();

  constructor(private readonly subscribe: Subscribe = graphqlSubscribe) {}

  /** open groups */
  get size(): number {
    return this.groups.size;
  }

  /** graphql-js `subscribe`, shared with the open group of `key` if there is one (no key: not shared). */
  async join(key: string | undefined, args: ExecutionArgs): Promise<SubscribeResult> {
    if (key === undefined) return this.subscribe(args);
    let pending = this.groups.get(key);
    if (!pending) {
      pending = this.open(key, args);
      this.groups.set(key, pending);
    }
    const group = await pending;
    if (!isGroup(group)) return group;
    // a group that closed meanwhile (its last member left) is replaced
    return group.closed ? this.join(key, args) : group.member();
  }

  private async open(key: string, args: ExecutionArgs): Promise<Group | ExecutionResult> {
    let result: SubscribeResult;
    try {
      result = await this.subscribe(args);
    } catch (err) {
      this.groups.delete(key);
      throw err;
    }
    if (!(Symbol.asyncIterator in result)) {
      // errors (validation of variables, authorisation): every joiner of this attempt gets them
      this.groups.delete(key);
      return result;
    }
    const slot: { pending?: Promise<Group> } = {};
    const group = new Group(result, () => {
      if (this.groups.get(key) === slot.pending) this.groups.delete(key);
    });
    slot.pending = Promise.resolve(group);
    this.groups.set(key, slot.pending);
    return group;
  }
}

function isGroup(value: Group | ExecutionResult): value is Group {
  return value instanceof Group;
}

class Group {
  private readonly source: AsyncIterator<ExecutionResult>;
  private readonly streams = new Set<BoundedStream<ExecutionResult>>();
  /** members handed out and not yet gone (attached or about to be) */
  private refs = 0;
  private end: { error?: unknown } | undefined;

  constructor(
    source: AsyncIterable<ExecutionResult>,
    private readonly onClose: () => void,
  ) {
    this.source = source[Symbol.asyncIterator]();
    void this.pump();
  }

  get closed(): boolean {
    return this.end !== undefined;
  }

  member(): AsyncIterable<ExecutionResult> & PushSource<ExecutionResult> & { return(): Promise<IteratorResult<ExecutionResult, void>> } {
    this.refs++;
    let attached = false;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.leave();
    };
    const attach = (stream: BoundedStream<ExecutionResult>): (() => void) => {
      if (attached || left) throw new Error("a multicast member is attached once");
      attached = true;
      if (this.end) {
        if ("error" in this.end) stream.fail(this.end.error);
        else stream.end();
      } else {
        this.streams.add(stream);
      }
      return () => {
        this.streams.delete(stream);
        leave();
      };
    };
    const member = {
      [ATTACH]: attach,
      // read without a socket's queue: a queue of its own, without a bound
      [Symbol.asyncIterator]: (): AsyncGenerator<ExecutionResult, void, undefined> => new SocketSendQueue(Infinity, () => undefined).wrap(member),
      // graphql-ws returns a generator it will not iterate (the client completed meanwhile)
      return: async (): Promise<IteratorResult<ExecutionResult, void>> => {
        if (!attached) leave();
        return { value: undefined, done: true };
      },
    };
    return member;
  }

  private leave(): void {
    this.refs--;
    if (this.refs > 0 || this.end) return;
    this.end = {};
    this.onClose();
    void Promise.resolve()
      .then(() => this.source.return?.())
      .catch(() => undefined);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const r = await this.source.next();
        if (this.end) return;
        if (r.done) break;
        for (const stream of this.streams) stream.offer(r.value);
      }
      this.finish({});
    } catch (error) {
      if (!this.end) this.finish({ error });
    }
  }

  private finish(end: { error?: unknown }): void {
    this.end = end;
    this.onClose();
    for (const stream of [...this.streams]) {
      if ("error" in end) stream.fail(end.error);
      else stream.end();
    }
    this.streams.clear();
  }
}
