import type { Session } from "../auth";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids that are not UUIDs name nothing: callers answer NOT_FOUND instead of a database error. */
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** After a successful `authorize`, the session is known to belong to a key. */
export function asKeySession(session: Session) {
  if (session.kind === "anonymous") throw new Error("asKeySession called before authorize");
  return session;
}
