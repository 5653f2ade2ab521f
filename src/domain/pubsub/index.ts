export { type AuditEventPayload, type PubSubObserver, type Topics, type VigilPubSub, createInProcessPubSub, topicLabel } from "./topics";
export { type RedisLinkState, type RedisPubSub, createRedisPubSub } from "./redis";
