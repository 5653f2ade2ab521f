export { ACTIONS, type Action } from "./actions";
export { Authenticator } from "./authenticator";
export { displayPrefix, generateKey } from "./key-codec";
export { ALL_SCOPES, Scope, isScope } from "./scopes";
export { AnonymousSession, PlatformSession, type Session, TenantSession, topicIdOf } from "./session";
export { tenantOf } from "./tenant-of";
