import { createPubSub } from "@graphql-yoga/subscription";
import { SocketSendQueue } from "../../../src/server/send-queue";
import { SocketRegistry } from "../../../src/server/socket-registry";
import type { WebSocket } from "ws";

type Topics = { EVENTS: [topicId: string, payload: { n: number }] };

/** Lets the pumps run: a few macrotask turns. */
const settle = () => new Promise((r) => setTimeout(r, 5));

/** A pub/sub subscription that records whether its iterator was returned (its listener released). */
function tracked(pubsub: ReturnType<typeof createPubSub<Topics>>) {
  const source = pubsub.subscribe("EVENTS", "t");
  const state = { returned: false };
  const iterable: AsyncIterable<{ n: number }> = {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        return: async () => {
          state.returned = true;
          return (await it.return?.()) ?? { value: undefined, done: true };
        },
      };
    },
  };
  return { iterable, state };
}

describe("SocketSendQueue", () => {
  it("delivers in order and counts a message until the consumer asks for the next one", async () => {
    const pubsub = createPubSub<Topics>();
    const queue = new SocketSendQueue(10, () => undefined);
    const stream = queue.wrap(pubsub.subscribe("EVENTS", "t"));
    await settle();
    for (let n = 1; n <= 3; n++) pubsub.publish("EVENTS", "t", { n });
    await settle();
    expect(queue.size).toBe(3);
    expect((await stream.next()).value).toEqual({ n: 1 });
    // the first is being written: still counted
    expect(queue.size).toBe(3);
    expect((await stream.next()).value).toEqual({ n: 2 });
    expect(queue.size).toBe(2);
    expect((await stream.next()).value).toEqual({ n: 3 });
    const pending = stream.next();
    expect(queue.size).toBe(0);
    pubsub.publish("EVENTS", "t", { n: 4 });
    expect((await pending).value).toEqual({ n: 4 });
    await stream.return();
    expect(queue.size).toBe(0);
  });

  it("ends every stream of a socket that falls more than the limit behind, and releases the sources", async () => {
    const pubsub = createPubSub<Topics>();
    const overflows: number[] = [];
    const queue = new SocketSendQueue(5, (q) => overflows.push(q.size));
    const a = tracked(pubsub);
    const b = tracked(pubsub);
    const streamA = queue.wrap(a.iterable);
    const streamB = queue.wrap(b.iterable);
    await settle();
    // each event is one message per subscription: 3 events are 6 messages for a limit of 5
    for (let n = 1; n <= 3; n++) pubsub.publish("EVENTS", "t", { n });
    await settle();
    expect(overflows).toHaveLength(1);
    expect(queue.closed).toBe(true);
    expect(queue.peak).toBeLessThanOrEqual(5);
    expect(queue.size).toBe(0);
    expect(a.state.returned).toBe(true);
    expect(b.state.returned).toBe(true);
    expect(await streamA.next()).toEqual({ value: undefined, done: true });
    expect(await streamB.next()).toEqual({ value: undefined, done: true });
    // nothing more is queued for it, and a new subscription on it ends at once
    for (let n = 4; n <= 100; n++) pubsub.publish("EVENTS", "t", { n });
    await settle();
    expect(queue.size).toBe(0);
    const c = tracked(pubsub);
    const late = queue.wrap(c.iterable);
    expect(await late.next()).toEqual({ value: undefined, done: true });
    expect(overflows).toHaveLength(1);
  });

  it("keeps a consumer that keeps up, however many events pass", async () => {
    const pubsub = createPubSub<Topics>();
    const queue = new SocketSendQueue(2, () => undefined);
    const stream = queue.wrap(pubsub.subscribe("EVENTS", "t"));
    await settle();
    const received: number[] = [];
    for (let n = 1; n <= 200; n++) {
      const next = stream.next();
      pubsub.publish("EVENTS", "t", { n });
      received.push(((await next).value as { n: number }).n);
    }
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(queue.closed).toBe(false);
    expect(queue.peak).toBe(1);
  });

  it("return() drops what is queued and returns the source", async () => {
    const pubsub = createPubSub<Topics>();
    const queue = new SocketSendQueue(100, () => undefined);
    const a = tracked(pubsub);
    const stream = queue.wrap(a.iterable);
    await settle();
    for (let n = 1; n <= 10; n++) pubsub.publish("EVENTS", "t", { n });
    await settle();
    expect(queue.size).toBe(10);
    await stream.next();
    await stream.return();
    expect(queue.size).toBe(0);
    expect(a.state.returned).toBe(true);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it("passes a source's error on after the values queued before it", async () => {
    const queue = new SocketSendQueue(10, () => undefined);
    async function* failing() {
      yield 1;
      yield 2;
      throw new Error("source failed");
    }
    const stream = queue.wrap(failing());
    await settle();
    expect((await stream.next()).value).toBe(1);
    expect((await stream.next()).value).toBe(2);
    await expect(stream.next()).rejects.toThrow("source failed");
    expect(queue.size).toBe(0);
  });
});

describe("SocketRegistry limits", () => {
  const socket = () => ({}) as WebSocket;

  it("refuses the connection beyond the per-key limit and frees the slot on remove", () => {
    const registry = new SocketRegistry({ maxConnectionsPerKey: 2, maxConnectionsPerTenant: 10 });
    const [s1, s2, s3] = [socket(), socket(), socket()];
    expect(registry.admit(s1, "k1", "t1")).toBeUndefined();
    expect(registry.admit(s2, "k1", "t1")).toBeUndefined();
    expect(registry.admit(s3, "k1", "t1")).toEqual({ limit: "key", reason: "too many connections for this API key (limit 2)" });
    expect(registry.countKey("k1")).toBe(2);
    expect(registry.admit(s3, "k2", "t1")).toBeUndefined();
    registry.remove(s1, "k1", "t1");
    expect(registry.admit(s1, "k1", "t1")).toBeUndefined();
  });

  it("refuses the connection beyond the per-tenant limit across keys; platform keys have no tenant", () => {
    const registry = new SocketRegistry({ maxConnectionsPerKey: 10, maxConnectionsPerTenant: 2 });
    expect(registry.admit(socket(), "k1", "t1")).toBeUndefined();
    expect(registry.admit(socket(), "k2", "t1")).toBeUndefined();
    expect(registry.admit(socket(), "k3", "t1")).toEqual({ limit: "tenant", reason: "too many connections for this tenant (limit 2)" });
    expect(registry.countKey("k3")).toBe(0);
    expect(registry.admit(socket(), "k3", "t2")).toBeUndefined();
    for (let i = 0; i < 10; i++) expect(registry.admit(socket(), "platform", undefined)).toBeUndefined();
    expect(registry.admit(socket(), "platform", undefined)).toEqual({ limit: "key", reason: "too many connections for this API key (limit 10)" });
  });
});
