export { type AuditEventPayload, type Topics, type VigilPubSub, createInProcessPubSub } from "./topics";
