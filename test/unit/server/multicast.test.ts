import { createPubSub } from "@graphql-yoga/subscription";
import type { ExecutionArgs, ExecutionResult } from "graphql";
import { SubscriptionMulticast } from "../../../src/server/multicast";
import { SocketSendQueue } from "../../../src/server/send-queue";

type Topics = { EVENTS: [topicId: string, payload: { n: number }] };

const settle = () => new Promise((r) => setTimeout(r, 5));
const ARGS = {} as ExecutionArgs;

/** A stand-in for graphql-js `subscribe`: one pub/sub subscription per call, each event "executed" once per call. */
function fakeSubscribe(pubsub: ReturnType<typeof createPubSub<Topics>>) {
  const counts = { subscribes: 0, executions: 0, returned: 0 };
  const subscribe = (): AsyncIterable<ExecutionResult> => {
    counts.subscribes++;
    const source = pubsub.subscribe("EVENTS", "t")[Symbol.asyncIterator]();
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const r = await source.next();
          if (r.done) return { value: undefined, done: true };
          counts.executions++;
          return { value: { data: { n: r.value.n } }, done: false };
        },
        return: async () => {
          counts.returned++;
          await source.return?.();
          return { value: undefined, done: true };
        },
      }),
    };
  };
  return { subscribe, counts };
}

describe("SubscriptionMulticast", () => {
  it("executes each event once for all members of a group, and releases the source when the last leaves", async () => {
    const pubsub = createPubSub<Topics>();
    const { subscribe, counts } = fakeSubscribe(pubsub);
    const multicast = new SubscriptionMulticast(subscribe);
    const queues = [new SocketSendQueue(10, () => undefined), new SocketSendQueue(10, () => undefined)];
    const a = queues[0]!.wrap((await multicast.join("k", ARGS)) as AsyncIterable<ExecutionResult>);
    const b = queues[1]!.wrap((await multicast.join("k", ARGS)) as AsyncIterable<ExecutionResult>);
    await settle();
    pubsub.publish("EVENTS", "t", { n: 1 });
    expect((await a.next()).value).toEqual({ data: { n: 1 } });
    expect((await b.next()).value).toEqual({ data: { n: 1 } });
    expect(counts).toEqual({ subscribes: 1, executions: 1, returned: 0 });
    expect(multicast.size).toBe(1);

    await a.return();
    pubsub.publish("EVENTS", "t", { n: 2 });
    expect((await b.next()).value).toEqual({ data: { n: 2 } });
    expect(counts.returned).toBe(0);
    await b.return();
    await settle();
    expect(counts.returned).toBe(1);
    expect(multicast.size).toBe(0);

    // the next subscriber opens a new group
    const c = new SocketSendQueue(10, () => undefined).wrap((await multicast.join("k", ARGS)) as AsyncIterable<ExecutionResult>);
    await settle();
    pubsub.publish("EVENTS", "t", { n: 3 });
    expect((await c.next()).value).toEqual({ data: { n: 3 } });
    expect(counts.subscribes).toBe(2);
    await c.return();
  });

  it("keeps groups of different keys apart, and does not share without a key", async () => {
    const pubsub = createPubSub<Topics>();
    const { subscribe, counts } = fakeSubscribe(pubsub);
    const multicast = new SubscriptionMulticast(subscribe);
    const members = [await multicast.join("k1", ARGS), await multicast.join("k2", ARGS), await multicast.join(undefined, ARGS), await multicast.join(undefined, ARGS)];
    expect(counts.subscribes).toBe(4);
    expect(multicast.size).toBe(2);
    for (const m of members) await (m as AsyncGenerator).return?.(undefined);
  });

  it("closes a slow member's socket without holding up the others", async () => {
    const pubsub = createPubSub<Topics>();
    const { subscribe, counts } = fakeSubscribe(pubsub);
    const multicast = new SubscriptionMulticast(subscribe);
    let overflowed = 0;
    const slowQueue = new SocketSendQueue(3, () => overflowed++);
    const slow = slowQueue.wrap((await multicast.join("k", ARGS)) as AsyncIterable<ExecutionResult>);
    const fast = new SocketSendQueue(3, () => undefined).wrap((await multicast.join("k", ARGS)) as AsyncIterable<ExecutionResult>);
    await settle();
    const got: number[] = [];
    for (let n = 1; n <= 10; n++) {
      const next = fast.next();
      pubsub.publish("EVENTS", "t", { n });
      got.push(((await next).value as { data: { n: number } }).data.n);
    }
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(overflowed).toBe(1);
    expect(slowQueue.size).toBe(0);
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    expect(counts.executions).toBe(10);
    await fast.return();
    await settle();
    expect(counts.returned).toBe(1);
  });

  it("hands an error result to every joiner of the attempt and keeps no group", async () => {
    let calls = 0;
    const multicast = new SubscriptionMulticast(() => {
      calls++;
      return { errors: [] } as unknown as ExecutionResult;
    });
    expect(await multicast.join("k", ARGS)).toEqual({ errors: [] });
    expect(await multicast.join("k", ARGS)).toEqual({ errors: [] });
    expect(calls).toBe(2);
    expect(multicast.size).toBe(0);
  });

  it("a member returned before it was attached leaves the group", async () => {
    const pubsub = createPubSub<Topics>();
    const { subscribe, counts } = fakeSubscribe(pubsub);
    const multicast = new SubscriptionMulticast(subscribe);
    const member = (await multicast.join("k", ARGS)) as AsyncGenerator<ExecutionResult>;
    await member.return(undefined);
    await settle();
    expect(counts.returned).toBe(1);
    expect(multicast.size).toBe(0);
  });
});
