import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { createPubSub } from "@graphql-yoga/subscription";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../../lib/logger";
import { type PubSubObserver, type Topics, type VigilPubSub, topicLabel } from "./topics";

/**
 * Events between processes over Redis pub/sub: every process publishes to Redis and receives, from
 * Redis, the events of the topics its subscribers listen to (its own events included).
 *
 * Delivery is at most once. The publisher has no offline queue and does not resend a command that
 * was in flight when its connection dropped, so an event published while Redis is unreachable is
 * dropped at once (and counted) rather than buffered without bound or delivered twice. The
 * subscriber keeps ioredis' offline queue and `autoResubscribe`, so subscriptions made while Redis
 * is down are sent when it is back and every channel is subscribed again after a reconnect.
 *
 * Redis trouble never fails a caller, never becomes an unhandled rejection and never stops the
 * process: `createRedisEventTarget` calls publish/subscribe/unsubscribe without handling their
 * promises, so it is given thin adapters that catch and count every failure.
 */

export type RedisLinkState = "connecting" | "ready" | "down" | "closed";

export interface RedisPubSubOptions {
  url: string;
  /** prepended to every channel name, so that several deployments can share one Redis */
  channelPrefix: string;
}

export interface RedisPubSub {
  pubsub: VigilPubSub;
  /** both connections; `ready` only when both are */
  state(): RedisLinkState;
  /** QUIT both connections, bounded by `timeoutMs`; then they are dropped */
  close(timeoutMs?: number): Promise<void>;
}

/** How often a persisting outage is logged again, with the number of failed attempts and drops. */
const OUTAGE_LOG_EVERY_MS = 60_000;

export function createRedisPubSub(options: RedisPubSubOptions, log: Logger, observer: PubSubObserver): RedisPubSub {
  const prefix = options.channelPrefix;
  const common: RedisOptions = {
    // retry for ever, at most every 2 s: the process outlives any Redis outage
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    connectTimeout: 5_000,
    // the process keeps running without Redis; a ready check per reconnect is cheap
    enableReadyCheck: true,
  };
  const publishClient = new Redis(options.url, {
    ...common,
    connectionName: "vigil-publisher",
    // at most once: drop what cannot be sent now, never resend after a reconnect
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  });
  const subscribeClient = new Redis(options.url, {
    ...common,
    connectionName: "vigil-subscriber",
    // SUBSCRIBE/UNSUBSCRIBE made while Redis is down wait for the connection, in order
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: true,
  });
  let closing = false;
  const publisher = watch(publishClient, "publisher", log, () => closing, observer);
  const subscriber = watch(subscribeClient, "subscriber", log, () => closing, observer);

  const publishAdapter = {
    publish(channel: string, message: string): void {
      const topic = topicLabel(channel);
      publishClient.publish(prefix + channel, message).then(
        () => observer.published(topic),
        (err: unknown) => {
          observer.dropped(topic);
          publisher.dropped(err);
        },
      );
    },
  };

  const subscribeAdapter = {
    on(event: "message", listener: (channel: string, message: string) => void): void {
      subscribeClient.on(event, (channel: string, message: string) => {
        if (!channel.startsWith(prefix)) return;
        const unprefixed = channel.slice(prefix.length);
        observer.received(topicLabel(unprefixed));
        // The listener parses the message and pushes it to subscribers: a message that is not
        // JSON (someone else publishing on our channel) must not throw into ioredis' socket handler.
        try {
          listener(unprefixed, message);
        } catch (err) {
          log.warn({ err, channel }, "dropped an undecodable pub/sub message");
        }
      });
    },
    subscribe(channel: string): void {
      subscribeClient.subscribe(prefix + channel).catch((err: unknown) => {
        if (!closing) log.warn({ err, channel }, "redis SUBSCRIBE failed; the subscription will miss events until it is made again");
      });
    },
    unsubscribe(channel: string): void {
      subscribeClient.unsubscribe(prefix + channel).catch((err: unknown) => {
        if (!closing) log.debug({ err, channel }, "redis UNSUBSCRIBE failed");
      });
    },
  };

  const eventTarget = createRedisEventTarget<CustomEvent>({
    // The adapters implement the only methods the event target calls (checked in its source:
    // publish, on("message"), subscribe, unsubscribe); its types ask for whole clients.
    publishClient: publishAdapter as unknown as Redis,
    subscribeClient: subscribeAdapter as unknown as Redis,
  });
  const pubsub = createPubSub<Topics>({ eventTarget });

  return {
    pubsub,
    state() {
      const a = publisher.state();
      const b = subscriber.state();
      if (a === b) return a;
      if (a === "down" || b === "down") return "down";
      if (a === "closed" || b === "closed") return "closed";
      return "connecting";
    },
    async close(timeoutMs = 2_000) {
      closing = true;
      await Promise.all([quit(publishClient, timeoutMs), quit(subscribeClient, timeoutMs)]);
      publisher.stop();
      subscriber.stop();
    },
  };
}

/** QUIT when connected (bounded), otherwise, or after the bound, drop the connection and stop retrying. */
async function quit(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([client.quit().then(() => undefined, () => undefined), timedOut]);
    clearTimeout(timer);
  }
  if (client.status !== "end") client.disconnect(false);
}

interface Watched {
  state(): RedisLinkState;
  /** a publish failed: logged once per outage (the counter counts every one) */
  dropped(err: unknown): void;
  stop(): void;
}

/**
 * Logs one connection's state once per change: "connected" when ready, one warning when it is lost
 * or cannot be reached, then a reminder at most once a minute while it stays down (ioredis emits an
 * 'error' per failed attempt; without a listener it would print each one).
 */
function watch(client: Redis, role: "publisher" | "subscriber", parent: Logger, isClosing: () => boolean, observer: PubSubObserver): Watched {
  const log = parent.child({ redis: role });
  let state: RedisLinkState = "connecting";
  let everReady = false;
  let downSince = 0;
  let failures = 0;
  let drops = 0;
  let lastError = "";
  let remindedAt = 0;
  let reminder: NodeJS.Timeout | undefined;

  const goDown = (why: string) => {
    if (isClosing() || state === "down") return;
    state = "down";
    downSince = Date.now();
    remindedAt = downSince;
    observer.connection(role, false);
    log.warn({ reason: why }, everReady ? "redis connection lost; reconnecting (events are not carried between processes meanwhile)" : "redis is unreachable; retrying in the background");
    reminder ??= setInterval(() => {
      if (state !== "down" || Date.now() - remindedAt < OUTAGE_LOG_EVERY_MS) return;
      remindedAt = Date.now();
      log.warn({ downForMs: Date.now() - downSince, failedAttempts: failures, droppedEvents: drops, lastError }, "redis still unreachable");
    }, OUTAGE_LOG_EVERY_MS).unref();
  };

  client.on("ready", () => {
    if (isClosing()) return;
    if (state === "down" && everReady) log.info({ downForMs: Date.now() - downSince, failedAttempts: failures, droppedEvents: drops }, "redis connection restored");
    else log.info("redis connected");
    state = "ready";
    everReady = true;
    failures = 0;
    drops = 0;
    observer.connection(role, true);
  });
  client.on("error", (err: Error) => {
    failures += 1;
    lastError = err.message;
    goDown(err.message);
  });
  client.on("close", () => goDown("connection closed"));
  client.on("end", () => {
    state = "closed";
    observer.connection(role, false);
  });

  return {
    state: () => state,
    dropped(err) {
      drops += 1;
      // one line per outage (drops are counted since the connection was last ready); the metric counts each
      if (drops === 1 && !isClosing()) log.warn({ reason: err instanceof Error ? err.message : String(err) }, "redis PUBLISH failed: events are dropped until Redis is back (counted in vigil_pubsub_events_dropped_total)");
    },
    stop() {
      if (reminder) clearInterval(reminder);
      reminder = undefined;
    },
  };
}
